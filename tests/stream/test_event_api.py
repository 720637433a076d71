"""GET /api/events (pages) and GET /api/events/stream (SSE) against a real server and store."""

from __future__ import annotations

import asyncio
import json

import pytest

from vcall.events import parse_event
from vcall.web import hub as hub_module
from vcall.web.keys import STORE

DEADLINE = 10.0
CONVERSATION = "CON-8f5a100c-fbce-4218-8d4b-16341335bcd6"


def other_call(n: int) -> bytes:
    return json.dumps(
        {"uuid": f"other-{n}", "status": "started", "conversation_uuid": "CON-other"}
    ).encode()


async def test_pages_in_store_order_with_cursor_and_filter(post, http, bodies, seed_json):
    await post([*bodies[:3], other_call(1), *bodies[3:]])
    first = (await http.get("/api/events", params={"limit": 3})).json()
    assert first["ok"] is True and [e["id"] for e in first["events"]] == [1, 2, 3]
    assert first["next"] == 3
    rest = (await http.get("/api/events", params={"after": 3, "limit": 100})).json()
    assert [e["id"] for e in rest["events"]] == [4, 5, 6, 7, 8] and rest["next"] is None
    only = (await http.get("/api/events", params={"conversation": CONVERSATION})).json()
    assert [e["event"] for e in only["events"]] == seed_json["events"]
    assert all(e["received_at"].endswith("Z") for e in only["events"])


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"after": "x"}, "after must be an integer, not 'x'"),
        ({"after": "-1"}, "after must be at least 0"),
        ({"limit": "0"}, "limit must be between 1 and 1000"),
        ({"limit": "5000"}, "limit must be between 1 and 1000"),
    ],
)
async def test_bad_page_parameters_are_400(http, params, reason):
    resp = await http.get("/api/events", params=params)
    assert resp.status_code == 400
    assert resp.json() == {"ok": False, "error": reason}


@pytest.mark.parametrize("path", ["/api/events", "/api/events/stream"])
async def test_api_needs_the_page_key(http, path):
    resp = await http.get(path, headers={"Authorization": "Bearer wrong"})
    assert resp.status_code == 401


async def test_stream_backlog_of_last_n_then_live(post, http, open_stream, bodies, seed_json):
    await post(bodies[:5])
    async with open_stream({"last": "2"}) as stream:
        backlog = await stream.until_ready()
        assert [e["id"] for e in backlog] == [4, 5] and stream.ready == 5
        await post(bodies[5:])
        live = await stream.take(2)
    assert [e["event"] for e in backlog + live] == seed_json["events"][3:]


async def test_last_event_id_resumes_with_exactly_what_was_missed(post, http, open_stream, bodies):
    await post(bodies)
    async with open_stream(headers={"Last-Event-ID": "3"}) as stream:
        missed = await stream.until_ready()
        assert [e["id"] for e in missed] == [4, 5, 6, 7] and stream.ready == 7
        (new,) = await post([other_call(1)])
        (live,) = await stream.take(1)
    assert live["id"] == new == 8


async def test_stream_with_nothing_missed_and_conversation_filter(post, http, open_stream, bodies):
    await post(bodies[:2])
    async with open_stream({"conversation": CONVERSATION}, {"Last-Event-ID": "2"}) as stream:
        assert await stream.until_ready() == [] and stream.ready == 2
        await post([other_call(1), bodies[2]])
        (live,) = await stream.take(1)
    assert live["event"]["status"] == "answered" and live["id"] == 4


async def test_bad_cursor_is_400(http):
    resp = await http.get("/api/events/stream", headers={"Last-Event-ID": "abc"})
    assert resp.status_code == 400 and "Last-Event-ID" in resp.json()["error"]


async def test_event_stored_while_subscribing_is_sent_once(post, server, http, open_stream, bodies):
    """The race the stream guards against: an event committed between the hub subscription
    and a store read is both read and queued; it must come out once."""
    store = server.app[STORE]
    original = store.events

    async def events_with_a_commit_in_between(**kwargs):  # type: ignore[no-untyped-def]
        store.events = original  # only the first read races
        await store.append(parse_event(bodies[1]))  # its commit wakes the hub
        return await original(**kwargs)

    await post(bodies[:1])
    store.events = events_with_a_commit_in_between
    async with open_stream(headers={"Last-Event-ID": "0"}) as stream:
        backlog = await stream.until_ready()
        await post(bodies[2:3])
        live = await stream.take(1)
    assert [e["id"] for e in backlog + live] == [1, 2, 3]


async def test_lagging_listener_catches_up_from_the_store(
    server, http, open_stream, bodies, monkeypatch
):
    """The hub drops a listener that falls behind; the stream refills from the store."""
    monkeypatch.setattr(hub_module, "MAX_BACKLOG", 2)
    store = server.app[STORE]
    async with open_stream({"last": "0"}) as stream:
        await stream.until_ready()
        # All in one batch: the hub reads them in one page and hands them out at once, faster
        # than any stream can drain.
        await asyncio.gather(*(store.append(parse_event(body)) for body in bodies))
        got = await stream.take(7)
    assert [e["id"] for e in got] == list(range(1, 8))


async def test_idle_stream_gets_heartbeats(http):
    async with http.stream("GET", "/api/events/stream") as resp:
        seen = b""
        async with asyncio.timeout(DEADLINE):
            async for chunk in resp.aiter_bytes():
                seen += chunk
                if b": ping" in seen:
                    break
    assert b"event: ready" in seen and b": ping" in seen


async def test_shutdown_ends_open_streams_at_once(server, open_stream):
    async with open_stream() as stream:
        await stream.until_ready()
        async with asyncio.timeout(DEADLINE):  # aiohttp would otherwise wait 60 s
            await server.close()
            with pytest.raises(StopAsyncIteration):
                await stream.take(1)
