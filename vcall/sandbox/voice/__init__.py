"""The emulated Voice platform, mounted inside ``vcall serve`` in sandbox mode: simulated calls,
their NCCO run step by step, the signed webhooks they send, and the page's real-time session."""
