"""A store that cannot write (a full disk, simulated with SQLite's ``max_page_count``): the event
webhook answers 503 with ``Retry-After`` so that Vonage retries, the server keeps answering,
and the events sent once the store has room again are stored."""

from __future__ import annotations

import json
import logging
from typing import Any

import apsw
import pytest

from vcall.web.app import create_app

#: Enough events to fill the pages the database has (a few KiB of bodies each).
MOST_EVENTS = 400
#: SQLite's own ceiling: no limit, as when the disk has room again.
NO_LIMIT = 2**31 - 2


def event(n: int) -> bytes:
    body = {
        "uuid": f"leg-{n:05d}",
        "conversation_uuid": "CON-full-disk",
        "status": "started",
        "direction": "inbound",
        "timestamp": f"2026-01-01T00:00:{n % 60:02d}.000Z",
        "headers": {"padding": "x" * 2000},
    }
    return json.dumps(body).encode()


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every apsw connection opened from now on (apsw's own hook for new connections)."""
    opened: list[Any] = []
    monkeypatch.setattr(apsw, "connection_hooks", [*apsw.connection_hooks, opened.append])
    return opened


async def test_a_full_store_is_503_with_retry_after_then_recovers(
    aiohttp_client, options, connections, caplog
):
    client = await aiohttp_client(create_app(options))
    writer = connections[0]  # the store opens its write connection first
    assert writer.filename == str(options.store.resolve())
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    writer.execute(f"PRAGMA max_page_count={pages}")  # the disk is full

    caplog.set_level(logging.WARNING, logger="vcall.web")
    refused = None
    for n in range(MOST_EVENTS):
        resp = await client.post("/voice/event", data=event(n))
        if resp.status != 200:
            refused = n
            break
    assert refused is not None, "the store never filled up"
    assert resp.status == 503
    assert int(resp.headers["Retry-After"]) > 0
    answer = await resp.json()
    assert answer["ok"] is False and "full" in answer["error"]
    assert [r for r in caplog.records if "answered 503" in r.getMessage()]
    # The server itself is fine: it answers, and the stored events can be read.
    assert (await client.get("/healthz")).status == 200
    headers = {"Authorization": f"Bearer {options.page_key}"}
    listed = await (await client.get("/api/events", params={"limit": 1000}, headers=headers)).json()
    assert len(listed["events"]) == refused

    writer.execute(f"PRAGMA max_page_count={NO_LIMIT}")  # room again
    # Vonage's retry of the refused event, then the ones after it.
    for n in range(refused, refused + 3):
        resp = await client.post("/voice/event", data=event(n))
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["duplicate"] is False
    listed = await (await client.get("/api/events", params={"limit": 1000}, headers=headers)).json()
    uuids = [e["event"]["uuid"] for e in listed["events"]]
    assert uuids == [f"leg-{n:05d}" for n in range(refused + 3)]
