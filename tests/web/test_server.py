"""``vcall.serving``: what happens when the server starts and stops."""

from __future__ import annotations

import asyncio
import gc

import aiohttp
from aiohttp import web

from vcall.serving import BEFORE_STOP, running, serve_forever


async def test_before_stop_hooks_reach_the_server_still_listening():
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="still up")

    app.router.add_get("/", hello)
    replies: list[str] = []

    async def last_request(app: web.Application) -> None:
        async with aiohttp.ClientSession() as http, http.get(base) as response:
            replies.append(await response.text())

    app[BEFORE_STOP] = [last_request]
    async with running(app, "127.0.0.1", 0) as base:
        assert replies == []
    assert replies == ["still up"]


async def test_serve_forever_freezes_what_start_up_made():
    """Full collections skip the start-up objects once the server listens (under 128
    concurrent webhooks, a collection walking them paused every request for about 42 ms)."""
    gc.unfreeze()
    listening = asyncio.Event()
    server = asyncio.create_task(
        serve_forever(web.Application(), "127.0.0.1", 0, lambda url: listening.set())
    )
    try:
        await asyncio.wait_for(listening.wait(), 10)
        assert gc.get_freeze_count() > 0
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)
        gc.unfreeze()
