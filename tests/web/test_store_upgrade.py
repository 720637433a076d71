"""A store written by an earlier vcall keeps deduplicating after the upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vcall.events import parse_event
from vcall.store import open_store
from vcall.store.sqlite import _SCHEMA

BODY = b'{"uuid": "u1", "status": "answered", "timestamp": "2021-03-29T21:20:06.182Z"}'


async def test_old_dedupe_keys_are_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with sqlite3.connect(path) as conn:  # as vcall 0.1 wrote it: key uuid|status|timestamp
        conn.executescript(_SCHEMA)
        conn.execute(
            "INSERT INTO events (received_at, uuid, status, timestamp, dedupe_key, raw) "
            "VALUES ('t', 'u1', 'answered', '2021-03-29T21:20:06.182Z', "
            "'u1|answered|2021-03-29T21:20:06.182Z', ?)",
            (BODY,),
        )
    store = open_store(path)
    await store.open()
    try:
        assert await store.append(parse_event(BODY)) is None  # a repeat delivery
        assert await store.count() == 1
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
