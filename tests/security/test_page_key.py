"""The page key guards the event stream and the page's WebSocket too, with the Origin check."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
import pytest

from vcall.web.access import COOKIE
from vcall.web.app import create_app

EVIL = {"Origin": "https://evil.example"}


@pytest.fixture
async def sandbox_client(aiohttp_client, options):  # type: ignore[no-untyped-def]
    """vcall serve in sandbox mode: it mounts the Client SDK's socket at /v2/rtc/."""
    return await aiohttp_client(create_app(replace(options, sandbox=True)))


async def test_event_stream_needs_the_key_and_this_origin(client, options):
    assert (await client.get("/api/events/stream")).status == 401
    assert (await client.get("/api/events/stream", params={"key": "wrong"})).status == 401
    cookie = {"Cookie": f"{COOKIE}={options.page_key}"}
    assert (await client.get("/api/events/stream", headers={**cookie, **EVIL})).status == 403
    async with client.get("/api/events/stream", headers=cookie) as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream"


async def test_websocket_needs_the_key_and_this_origin(sandbox_client, options):
    socket = "/v2/rtc/?EIO=4&transport=websocket"
    for kwargs in ({}, {"params": {"key": "wrong"}}):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await sandbox_client.ws_connect(socket, **kwargs)
        assert refused.value.status == 401
    key = {"Authorization": f"Bearer {options.page_key}"}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await sandbox_client.ws_connect(socket, headers={**key, **EVIL})
    assert refused.value.status == 403
    own = {"Origin": f"http://{sandbox_client.host}:{sandbox_client.port}"}
    ws = await sandbox_client.ws_connect(socket, headers={**key, **own})
    assert not ws.closed
    await ws.close()


async def test_keyed_answers_leak_the_key_nowhere(client, options):
    resp = await client.get("/api/events", params={"key": options.page_key})
    assert resp.status == 200
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Frame-Options"] == "DENY"
    cookie = resp.cookies[COOKIE]
    assert cookie["httponly"] is True and cookie["samesite"] == "Strict"
