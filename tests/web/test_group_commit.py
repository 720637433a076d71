"""Group commit: events queued in one loop pass share one transaction, and each caller still
learns its own event's id (or that it was a repeat delivery)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from recorded_call import RecordedCall

from vcall.events import parse_event
from vcall.store import open_store


async def test_one_batch_with_repeats_gives_each_new_event_its_own_id(
    tmp_path: Path, seed: RecordedCall
) -> None:
    first, second, third, *_ = seed.event_bodies()
    store = open_store(tmp_path / "events.db")
    await store.open()
    try:
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
    finally:
        await store.close()


async def test_ids_follow_rows_written_by_another_connection(
    tmp_path: Path, seed: RecordedCall
) -> None:
    """The ids come from the table's sequence inside the transaction, not from memory."""
    first, second, third, *_ = seed.event_bodies()
    path = tmp_path / "events.db"
    store = open_store(path)
    await store.open()
    try:
        one = await store.append(parse_event(first))
        with sqlite3.connect(path) as other:  # e.g. a second vcall serve on the same file
            other.execute(
                "INSERT INTO events (received_at, uuid, status, dedupe_key, raw) "
                "VALUES ('t', 'x', 'y', 'other|x|y', x'7b7d')"
            )
        two, three = await asyncio.gather(
            store.append(parse_event(second)), store.append(parse_event(third))
        )
        assert one is not None and two is not None and three is not None
        assert (two.id, three.id) == (one.id + 2, one.id + 3)
        assert [e.raw for e in await store.events_by_id([two.id, three.id])] == [second, third]
    finally:
        await store.close()
