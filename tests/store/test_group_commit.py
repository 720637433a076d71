"""Group commit, in both stores: events queued in one loop pass share one transaction, and each
caller still learns its own event's id (or that it was a repeat delivery)."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from recorded_call import RecordedCall

from vcall.events import parse_event
from vcall.store import EventStore, batching, sqlite


async def test_one_batch_with_repeats_gives_each_new_event_its_own_id(
    store: EventStore, seed: RecordedCall
) -> None:
    first, second, third, *_ = seed.event_bodies()
    stored = await store.append(parse_event(first))
    assert stored is not None
    # One batch: a repeat of a stored event, two new ones, and a repeat within the batch.
    batch = [first, second, third, second]
    results = await asyncio.gather(*(store.append(parse_event(b)) for b in batch))
    repeat, new2, new3, again = results
    assert repeat is None and again is None
    assert new2 is not None and new3 is not None
    assert stored.id < new2.id < new3.id  # (an ignored repeat may use up an id)
    assert (new2.raw, new3.raw) == (second, third)
    by_id = {e.id: e.raw for e in await store.events()}
    assert by_id == {stored.id: first, new2.id: second, new3.id: third}


async def test_a_batch_bigger_than_one_insert_keeps_every_id_in_order(store: EventStore) -> None:
    """One batch of more events than one SQLite INSERT carries (sqlite.INSERT_ROWS): several
    statements in one commit, ids still in arrival order, a repeat across them still found."""
    count = 2 * sqlite.INSERT_ROWS + 5
    bodies = [
        b'{"uuid": "u%d", "status": "started", "timestamp": "t%d"}' % (n, n) for n in range(count)
    ]
    repeat_at = sqlite.INSERT_ROWS + 3  # in the second INSERT, of an event in the first
    bodies.insert(repeat_at, bodies[2])
    # Queued in one go, before the flush task runs: one batch.
    results = await asyncio.gather(*(store.append(parse_event(b)) for b in bodies))
    assert results[repeat_at] is None
    new = [r for r in results if r is not None]
    assert [r.raw for r in new] == [b for i, b in enumerate(bodies) if i != repeat_at]
    ids = [r.id for r in new]
    if isinstance(store, sqlite.SqliteStore):
        assert ids == list(range(new[0].id, new[0].id + count))
    else:  # an id numbers the event's place in its transaction: the repeat's is left out
        assert ids == sorted(ids) and len(set(ids)) == count
    stored = await store.events(limit=count + 1)
    assert {e.id: e.raw for e in stored} == {r.id: r.raw for r in new}


async def test_writes_arriving_while_a_batch_grows_share_its_commit(
    store: EventStore, seed: RecordedCall, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load, webhooks arrive over several loop passes: the batch waits for them, and
    one commit settles every one (each pass committing its own would settle the first alone)."""
    monkeypatch.setattr(batching, "GATHER_FOR", 60.0)  # a slow machine's passes must not end it
    bodies = seed.event_bodies()
    futures = []
    for body in bodies:
        futures.append(store.append(parse_event(body)))
        await asyncio.sleep(0)  # the next webhook comes a loop pass later
        assert not futures[0].done(), "committed while the batch was still growing"
    first = await futures[0]
    assert first is not None
    assert all(f.done() for f in futures)
    ids = [(await f).id for f in futures]
    assert ids == list(range(first.id, first.id + len(bodies)))


async def test_a_steady_stream_of_writes_still_commits(store: EventStore) -> None:
    """A batch that grows on every pass stops gathering (at batching.MAX_BATCH or GATHER_FOR) and
    commits while writes keep coming."""
    futures = []
    deadline = time.monotonic() + 10  # a commit over the network may take many passes
    for n in itertools.count():
        body = b'{"uuid": "u%d", "status": "started", "timestamp": "t%d"}' % (n, n)
        futures.append(store.append(parse_event(body)))
        await asyncio.sleep(0)  # one loop pass (not a wait): a webhook every pass
        if futures[0].done() or time.monotonic() > deadline:
            break
    assert futures[0].done(), "no commit while the writes kept coming"
    settled = sum(f.done() for f in futures)
    assert 1 < settled <= batching.MAX_BATCH
    await asyncio.gather(*futures)
