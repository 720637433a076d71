"""The event-store contract (vcall.store.EventStore), the same for both stores: what is stored
comes back byte for byte, a repeat delivery is stored once (also when two instances take it at
the same moment), refused bodies are kept, and a reader following the cursor sees every event
exactly once, in order, while two instances write."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from polling import kept_answers
from recorded_call import EVER, RecordedCall

from vcall._errors import StoreError
from vcall.answer_requests import VERIFIED, AnswerRequest, around
from vcall.events import StoredEvent, parse_event
from vcall.store import EventStore, open_store

Opener = Callable[..., Awaitable[EventStore]]


def body(n: int, conversation: str = "CON-1", **extra: str) -> bytes:
    return json.dumps(
        {
            "uuid": f"leg-{n:05d}",
            "status": "started",
            "conversation_uuid": conversation,
            "timestamp": f"2026-01-01T00:00:00.{n:03d}Z",
            **extra,
        }
    ).encode()


async def test_an_event_comes_back_as_it_was_stored(store: EventStore, seed: RecordedCall) -> None:
    raw = seed.event_bodies()[1]
    event = parse_event(raw)
    stored = await store.append(event)
    assert isinstance(stored, StoredEvent)
    assert stored.raw == raw and stored[2:11] == event[:9]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stored.received_at)
    assert await store.events() == [stored]
    assert await store.last_events(5) == [stored]
    assert await store.events_by_id([stored.id, stored.id + 1]) == [stored]
    assert await store.count() == 1


async def test_reads_by_cursor_conversation_and_newest(store: EventStore) -> None:
    stored = []
    for n in range(6):
        one = await store.append(parse_event(body(n, "CON-A" if n % 2 else "CON-B")))
        assert one is not None
        stored.append(one)
    ids = [e.id for e in stored]
    assert ids == sorted(ids)
    assert await store.events(after=ids[1], limit=2) == stored[2:4]
    assert await store.events(conversation="CON-A") == stored[1::2]
    assert await store.events(after=ids[1], conversation="CON-A", limit=1) == [stored[3]]
    assert await store.last_events(2) == stored[4:]
    assert await store.last_events(2, conversation="CON-B") == [stored[2], stored[4]]
    assert await store.events_by_id([ids[5], ids[0], 0]) == [stored[0], stored[5]]
    assert await store.events(after=ids[-1]) == []


async def test_a_repeat_is_stored_once_also_after_a_restart(
    location: Path | str, opened: Opener
) -> None:
    first = await opened(location)
    assert await first.append(parse_event(body(1))) is not None
    await first.close()
    again = await opened(location)
    assert await again.append(parse_event(body(1))) is None
    assert await again.count() == 1


async def test_the_same_delivery_to_two_instances_at_once_is_one_row(
    location: Path | str, opened: Opener
) -> None:
    """Vonage retries a webhook that timed out while the first try is still being stored; a
    load balancer sends the two tries to different instances. Each pair is queued on both at
    the same moment: one stores it, the other learns it is a repeat."""
    a, b = await opened(location), await opened(location)
    bodies = [body(n) for n in range(200)]
    results = await asyncio.gather(*(s.append(parse_event(raw)) for raw in bodies for s in (a, b)))
    for raw, pair in zip(bodies, zip(results[::2], results[1::2], strict=True), strict=True):
        assert sum(r is not None for r in pair) == 1, raw
    assert await a.count() == len(bodies)
    assert sorted(e.raw for e in await b.events(limit=1000)) == sorted(bodies)


async def test_a_reader_sees_every_event_once_in_order_while_two_instances_write(
    location: Path | str, opened: Opener
) -> None:
    """The cursor never skips: ids that commit out of order (two writers) are not passed over.
    A reader follows ``events(after=cursor)`` while both instances store concurrently."""
    a, b, reader = await opened(location), await opened(location), await opened(location)
    per_writer, acknowledged = 600, []
    done = asyncio.Event()

    async def write(store: EventStore, offset: int) -> None:
        for start in range(0, per_writer, 20):
            batch = [parse_event(body(offset + n)) for n in range(start, start + 20)]
            for one in await asyncio.gather(*(store.append(e) for e in batch)):
                assert one is not None
                acknowledged.append(one.id)
            await asyncio.sleep(0)

    async def follow() -> list[int]:
        seen: list[int] = []
        cursor = 0
        while True:
            finished = done.is_set()
            page = await reader.events(after=cursor, limit=50)
            seen += [e.id for e in page]
            cursor = seen[-1] if seen else cursor
            if finished and not page:
                return seen
            await asyncio.sleep(0.001)  # a stream polls so; the deadline is the test's

    follower = asyncio.create_task(follow())
    await asyncio.gather(write(a, 0), write(b, 10_000))
    done.set()
    seen = await asyncio.wait_for(follower, 30)
    assert seen == sorted(acknowledged), "a gap, a repeat or an event out of order"


async def test_refused_bodies_are_kept_newest_first(store: EventStore) -> None:
    first = await store.reject("body is not JSON", "POST", "/voice/event", "text/plain", b"x\x00")
    second = await store.reject("missing 'uuid'", "GET", "/voice/event", None, b"{}")
    assert first < second
    kept = await store.rejected()
    assert [(r.id, r.reason, r.method, r.content_type, r.body) for r in kept] == [
        (second, "missing 'uuid'", "GET", None, b"{}"),
        (first, "body is not JSON", "POST", "text/plain", b"x\x00"),
    ]
    assert [r.id for r in await store.rejected(limit=1)] == [second]
    assert await store.count() == 0


async def test_an_event_and_a_refusal_in_one_batch(store: EventStore) -> None:
    stored, refused = await asyncio.gather(
        store.append(parse_event(body(1))), store.reject("bad", "POST", "/voice/event", None, b"")
    )
    assert stored is not None and isinstance(refused, int)
    assert [e.raw for e in await store.events()] == [body(1)]


async def test_a_nul_character_in_a_field_is_stored(store: EventStore) -> None:
    """JSON may carry U+0000 in a string; the raw body keeps it, the event is stored, and it
    does not fail the events that share its commit."""
    odd = body(1, direction="in\u0000bound")
    stored = await asyncio.gather(*(store.append(parse_event(b)) for b in (body(0), odd, body(2))))
    assert all(s is not None for s in stored)
    assert [e.raw for e in await store.events()] == [body(0), odd, body(2)]


async def test_writes_after_close_are_refused(location: Path | str) -> None:
    store = open_store(location)
    await store.open()
    await store.close()
    with pytest.raises(StoreError, match="not open"):
        store.append(parse_event(body(1)))


def test_an_unknown_durability_is_refused(location: Path | str) -> None:
    with pytest.raises(StoreError, match="unknown durability 'fast'"):
        open_store(location, "fast")


def answer(conversation: str | None, n: int = 0, **fields: object) -> AnswerRequest:
    """An answer request as the webhook keeps it (a GET unless ``body`` is given)."""
    query = f"from=441234567890&to=442038297050&uuid=leg-{n}&conversation_uuid={conversation}"
    return AnswerRequest(
        **{
            "received_at": f"2026-01-01T00:00:0{n}.000Z",
            "conversation_uuid": conversation,
            "uuid": f"leg-{n}",
            "path": "/voice/answer",
            "method": "GET",
            "query": query,
            "body": None,
            "signature": VERIFIED,
            "status": 200,
            "response": b'[{"action":"talk","text":"hi"}]',
            "took_ms": 0.25 + n,
            **fields,
        }
    )


async def test_answer_requests_are_kept_as_received_without_waiting(store: EventStore) -> None:
    posted = answer(
        "CON-1",
        1,
        path="/voice/fallback",
        method="POST",
        query="",
        body=b'{"conversation_uuid":"CON-1","custom":"\\u0000 x"}',
        signature="payload_hash does not match the body",
        status=401,
        response=b'{"ok":false}',
    )
    # No awaiting: the answer goes out before the store has the request.
    for one in (answer("CON-1"), answer("CON-2"), posted):
        assert store.record_answer(one) is None
    kept = await kept_answers(store, "CON-1", 2)
    assert [tuple(k[1:]) for k in kept] == [tuple(answer("CON-1")), tuple(posted)]
    assert kept[0].id < kept[1].id
    assert [a.uuid for a in await kept_answers(store, "CON-2", 1)] == ["leg-0"]
    assert await store.answers("CON-3", **EVER) == []
    assert await store.count() == 0  # answer requests are not events


async def test_answer_requests_queued_at_close_are_kept(
    location: Path | str, opened: Opener
) -> None:
    first = await opened(location)
    first.record_answer(answer("CON-1", uuid="leg-\u0000"))
    await first.close()
    again = await opened(location)
    (kept,) = await again.answers("CON-1", **EVER)
    assert kept.uuid in ("leg-\u0000", "leg-\ufffd")  # PostgreSQL text holds no NUL


async def test_answer_requests_are_found_by_arrival_time(store: EventStore) -> None:
    """A call's answer requests are looked for around its events' arrival (around())."""
    for n, at in enumerate(["2026-01-01T00:00:00.000Z", "2026-01-01T00:09:00.000Z"]):
        store.record_answer(answer("CON-1", n, received_at=at))
    assert len(await kept_answers(store, "CON-1", 2)) == 2
    since, until = around("2026-01-01T00:05:00.000Z", "2026-01-01T00:06:30.250Z")
    assert (since, until) == ("2026-01-01T00:00:00.000Z", "2026-01-01T00:07:30.250Z")
    window = await store.answers("CON-1", since=since, until=until)
    assert [a.uuid for a in window] == ["leg-0"]


async def test_an_answer_request_in_a_batch_of_events(store: EventStore) -> None:
    store.record_answer(answer("CON-1"))
    stored = await asyncio.gather(*(store.append(parse_event(body(n))) for n in range(3)))
    assert all(s is not None for s in stored)
    assert len(await kept_answers(store, "CON-1", 1)) == 1


async def test_the_inspector_walks_back_through_calls(store: EventStore) -> None:
    """``recent`` walks back from a cursor; ``calls_events`` reads whole calls (their newest
    events); ``leg_conversation`` finds a call by any of its legs."""
    stored = []
    for n in range(8):
        one = await store.append(parse_event(body(n, f"CON-{n % 3}")))
        assert one is not None
        stored.append(one)
    ids = [e.id for e in stored]
    newest_first = [(e.id, e.conversation_uuid) for e in reversed(stored)]
    assert await store.recent(limit=3) == newest_first[:3]
    assert await store.recent(before=ids[5], limit=100) == newest_first[3:]
    assert await store.recent(before=ids[0]) == []
    assert await store.calls_events(["CON-1", "CON-0", "CON-1"]) == [
        e for e in stored if e.conversation_uuid in ("CON-0", "CON-1")
    ]
    assert await store.calls_events(["CON-0"], newest=2) == [stored[3], stored[6]]
    assert await store.calls_events(["CON-9"]) == []
    assert await store.leg_conversation("leg-00004") == "CON-1"
    assert await store.leg_conversation("leg-nope") is None
