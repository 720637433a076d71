"""The calls inspector's reads on both stores: each call summed up right for every way a call
ends, pages newest first that neither repeat nor skip a call, filters and search."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vcall.calls import CallFilter, find_call, recent_calls, summarise
from vcall.events import parse_event
from vcall.sandbox.voice.legs import Leg, error_event
from vcall.store import EventStore


def call_bodies(conversation: str, outcome: str, caller: str = "441234567890") -> list[bytes]:
    """A call's events as the sandbox platform sends them, for an app leg that ends with
    ``outcome`` (``failed-answer``: no NCCO; ``ringing``: still ringing)."""
    inbound = Leg(f"in-{conversation}", conversation, "inbound", caller, "442038297050")
    app = Leg(f"app-{conversation}", conversation, "outbound", caller, "Alice")
    bodies = [inbound.progress("ringing"), inbound.progress("started")]
    if outcome == "failed-answer":
        bodies += [error_event(conversation, "no NCCO for the call"), inbound.completed()]
    else:
        bodies += [inbound.answered(), app.progress("started")]
        if outcome == "answered":
            bodies += [app.answered(), app.completed(), inbound.completed()]
        elif outcome != "ringing":
            bodies += [app.progress(outcome), inbound.completed()]
    # Distinct timestamps, so a repeat delivery is never taken for another event.
    for n, body in enumerate(bodies):
        body["timestamp"] = f"2026-01-01T00:00:{n:02d}.000Z"
    return [json.dumps(b).encode() for b in bodies]


async def store_call(store: EventStore, conversation: str, outcome: str, **kw: Any) -> None:
    for body in call_bodies(conversation, outcome, **kw):
        assert await store.append(parse_event(body)) is not None


@pytest.mark.parametrize(
    ("outcome", "shown", "ended"),
    [
        ("answered", "answered", True),
        ("rejected", "rejected", True),
        ("busy", "busy", True),
        ("timeout", "timeout", True),
        ("cancelled", "cancelled", True),
        ("failed", "failed", True),
        ("failed-answer", "failed", True),
        ("ringing", "ringing", False),
    ],
)
async def test_a_call_is_summed_up_from_its_events(
    store: EventStore, outcome: str, shown: str, ended: bool
) -> None:
    await store_call(store, "CON-1", outcome, caller="447700900123")
    events = await store.calls_events(["CON-1"])
    call = summarise("CON-1", events)
    assert (call.outcome, call.ended, call.caller, call.called) == (
        shown,
        ended,
        "447700900123",
        "442038297050",
    )
    assert (call.events, call.newest) == (len(events), events[-1].id)
    assert call.legs == (1 if outcome == "failed-answer" else 2)
    if ended:  # the caller's leg is billed, the app leg is free
        assert call.duration is not None and call.price == events[-1].price
    else:
        assert call.duration is None and call.price is None
    assert call.started_at == "2026-01-01T00:00:00.000Z"


async def test_pages_newest_first_neither_repeat_nor_skip(store: EventStore) -> None:
    for n in range(23):
        await store_call(store, f"CON-{n:02d}", "answered")
    pages, before = [], None
    while True:
        page = await recent_calls(store, before=before, limit=10)
        pages.append([c.conversation_uuid for c in page.calls])
        if page.next is None:
            break
        before = page.next
        # A call further down that moves on meanwhile is shown with the newest, not again.
        if len(pages) == 1:
            late = json.loads(call_bodies("CON-05", "answered")[-1])
            late["timestamp"] = "2026-01-01T00:01:00.000Z"
            assert await store.append(parse_event(json.dumps(late).encode())) is not None
    assert [len(p) for p in pages] == [10, 10, 2]
    listed = [c for page in pages for c in page]
    assert len(listed) == len(set(listed))
    assert "CON-05" not in listed  # it moved above the first page after it was read
    assert listed == [f"CON-{n:02d}" for n in range(22, -1, -1) if n != 5]


async def test_filters_keep_the_calls_asked_for(store: EventStore) -> None:
    outcomes = ["answered", "rejected", "busy", "timeout", "cancelled", "ringing"]
    for n, outcome in enumerate(outcomes * 2):
        await store_call(store, f"CON-{n:02d}", outcome, caller=f"4477009001{n:02d}")
    for outcome in ("answered", "rejected", "busy", "timeout", "cancelled"):
        page = await recent_calls(store, wanted=CallFilter(status=outcome))
        assert [c.outcome for c in page.calls] == [outcome, outcome]
        assert page.next is None
    live = await recent_calls(store, wanted=CallFilter(status="in progress"))
    assert [c.conversation_uuid for c in live.calls] == ["CON-11", "CON-05"]
    by_number = await recent_calls(store, wanted=CallFilter(number="+44 7700 900 103"))
    assert [c.conversation_uuid for c in by_number.calls] == ["CON-03"]
    called = await recent_calls(store, wanted=CallFilter(number="442038297050"), limit=3)
    assert len(called.calls) == 3 and called.next == called.calls[-1].newest


async def test_a_filter_walks_back_only_so_far_per_page(store: EventStore) -> None:
    for n in range(6):
        await store_call(store, f"CON-{n}", "answered" if n else "busy")
    wanted = CallFilter(status="busy")
    first = await recent_calls(store, wanted=wanted, scan=20)
    assert first.calls == [] and first.scanned == 20 and first.next is not None
    rest = await recent_calls(store, before=first.next, wanted=wanted)
    assert [c.conversation_uuid for c in rest.calls] == ["CON-0"] and rest.next is None


async def test_a_call_is_found_by_its_conversation_or_any_leg(store: EventStore) -> None:
    await store_call(store, "CON-a", "answered")
    await store_call(store, "CON-b", "rejected")
    for term in ("CON-b", " CON-b ", "in-CON-b", "app-CON-b"):
        found = await find_call(store, term)
        assert found is not None and found.conversation_uuid == "CON-b"
    assert await find_call(store, "CON-nope") is None
    assert await find_call(store, "") is None


async def test_an_empty_store_has_no_calls(store: EventStore) -> None:
    page = await recent_calls(store)
    assert (page.calls, page.next, page.scanned) == ([], None, 0)
