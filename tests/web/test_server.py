"""``vcall.web.server.running``: what happens when the server stops."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from vcall.web.server import BEFORE_STOP, running


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
