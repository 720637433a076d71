"""What only the SQLite store does: a store written by an earlier vcall is upgraded in place
(nothing lost, ids kept, dedupe on), and ids follow the table, not memory."""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

import apsw
from recorded_call import RecordedCall

from vcall.events import parse_event
from vcall.store import open_store

BODY = b'{"uuid": "u1", "status": "answered", "timestamp": "2021-03-29T21:20:06.182Z"}'
NEW = b'{"uuid": "u2", "status": "completed", "timestamp": "2021-03-29T21:21:00.000Z"}'
#: The events table as vcall 0.1 made it: frozen, unlike the current schema.
V0_SCHEMA = Path(__file__).with_name("store_v0.sql")


def write_v0_store(path: Path) -> None:
    """Events 1 and 3 stored; id 2 used up by an ignored repeat, as AUTOINCREMENT does."""
    conn = apsw.Connection(str(path))
    try:
        conn.execute(V0_SCHEMA.read_text())
        insert = (
            "INSERT OR IGNORE INTO events (id, received_at, conversation_uuid, uuid, status, "
            "timestamp, dedupe_key, raw) VALUES (?, 't', 'CON-1', ?, ?, ?, ?, ?)"
        )
        key = "u1|answered|2021-03-29T21:20:06.182Z"
        conn.execute(insert, (1, "u1", "answered", "2021-03-29T21:20:06.182Z", key, BODY))
        conn.execute(insert, (3, "u0", "started", "2021-03-29T21:20:00.000Z", "u0|s|x", b"{}"))
    finally:
        conn.close()


async def test_old_store_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    write_v0_store(path)
    store = open_store(path)
    await store.open()
    try:
        assert await store.append(parse_event(BODY)) is None  # still a repeat delivery
        stored = await store.append(parse_event(NEW))
        assert stored is not None and stored.id == 4  # after every id the old store handed out
        assert [e.id for e in await store.events()] == [1, 3, 4]
        assert [e.id for e in await store.events(conversation="CON-1")] == [1, 3]
    finally:
        await store.close()
    conn = apsw.Connection(str(path))
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        (table_sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'events'"
        ).fetchone()
        assert "AUTOINCREMENT" not in table_sql
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert "events_conversation" in names and "events_v1" not in names
        assert {"answers", "answers_received"} <= names
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


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
        other = apsw.Connection(str(path))  # e.g. a second vcall serve on the same file
        try:
            other.execute(
                "INSERT INTO events (received_at, uuid, status, dedupe_key, raw) "
                "VALUES ('t', 'x', 'y', 'other|x|y', x'7b7d')"
            )
        finally:
            other.close()
        two, three = await asyncio.gather(
            store.append(parse_event(second)), store.append(parse_event(third))
        )
        assert one is not None and two is not None and three is not None
        assert (two.id, three.id) == (one.id + 2, one.id + 3)
        assert [e.raw for e in await store.events_by_id([two.id, three.id])] == [second, third]
    finally:
        await store.close()


def open_when_all_are_ready(path: str, ready: Barrier) -> None:
    """Open and close the store at ``path`` once every process is ready to."""

    async def main() -> None:
        store = open_store(path)
        await store.open()
        await store.close()

    ready.wait(timeout=60)
    asyncio.run(main())


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    """As ``--workers`` does: each process creates and migrates the schema; none trips over
    another's half-done migration."""
    path = tmp_path / "events.db"
    fork = multiprocessing.get_context("fork")
    ready = fork.Barrier(8)
    opening = [
        fork.Process(target=open_when_all_are_ready, args=(str(path), ready)) for _ in range(8)
    ]
    for proc in opening:
        proc.start()
    for proc in opening:
        proc.join(timeout=60)
    assert [proc.exitcode for proc in opening] == [0] * 8
    conn = apsw.Connection(str(path))
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
