"""A real vcall serve app on loopback with a short heartbeat, and helpers to read its feed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse
from recorded_call import RecordedCall

from vcall.web import api
from vcall.web.app import ServeOptions, create_app

#: Generous upper bound for anything that should happen "at once" on a busy 2-core box.
DEADLINE = 10.0


@pytest.fixture
def options(tmp_path: Path) -> ServeOptions:
    return ServeOptions(store=tmp_path / "events.db", quiet=True)


@pytest.fixture
async def server(aiohttp_server, options: ServeOptions):  # type: ignore[no-untyped-def]
    app = create_app(options)
    app[api.HEARTBEAT] = 0.05
    return await aiohttp_server(app)


@pytest.fixture
async def http(server, options: ServeOptions) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A keyed client of the server (the way programs call the API)."""
    async with httpx.AsyncClient(
        base_url=str(server.make_url("")),
        headers={"Authorization": f"Bearer {options.page_key}"},
        timeout=DEADLINE,
    ) as client:
        yield client


@pytest.fixture
def post(http: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    """``await post(bodies)``: POST each body to the event webhook; returns the stored ids."""

    async def post_events(bodies: list[bytes]) -> list[int]:
        ids = []
        for body in bodies:
            resp = await http.post("/voice/event", content=body)
            assert resp.status_code == 200, resp.text
            ids.append(resp.json()["id"])
        return ids

    return post_events


class Stream:
    """An open SSE connection: read data events (and the ``ready`` marker) with a deadline."""

    def __init__(self, messages: AsyncIterator[Any]) -> None:
        self._messages = messages
        self.ready: int | None = None

    async def take(self, n: int) -> list[dict[str, Any]]:
        """The next ``n`` feed events (remembering the ready cursor if it passes by)."""
        out: list[dict[str, Any]] = []
        async with asyncio.timeout(DEADLINE):
            while len(out) < n:
                message = await anext(self._messages)
                if not message.data:
                    continue
                if message.event == "ready":
                    self.ready = int(message.id)
                    continue
                assert message.id == str(message.json()["id"])
                out.append(message.json())
        return out

    async def until_ready(self) -> list[dict[str, Any]]:
        """Every backlog event up to the ``ready`` marker."""
        out: list[dict[str, Any]] = []
        async with asyncio.timeout(DEADLINE):
            while self.ready is None:
                message = await anext(self._messages)
                if message.event == "ready":
                    self.ready = int(message.id)
                elif message.data:
                    out.append(message.json())
        return out


@pytest.fixture
def open_stream(http: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    """``async with open_stream(params, headers) as stream`` on /api/events/stream."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def opener(
        params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> AsyncIterator[Stream]:
        async with aconnect_sse(
            http, "GET", "/api/events/stream", params=params or {}, headers=headers or {}
        ) as source:
            assert source.response.status_code == 200
            yield Stream(source.aiter_sse())

    return opener


@pytest.fixture
def bodies(seed: RecordedCall) -> list[bytes]:
    return seed.event_bodies()
