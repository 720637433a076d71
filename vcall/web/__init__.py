"""The aiohttp application behind ``vcall serve``: webhooks, page, API and streams."""
