"""SQLite event store with group commit.

All writes go through one connection on one thread (datasette's ``execute_write_fn``
pattern). The writer drains every request that is waiting, runs them in a single
transaction and commits once, so concurrent webhooks share one fsync; each caller's future
resolves only after that commit. Reads use their own connection on another thread (WAL lets
them run alongside the writer).

Durability (``--durability``): ``normal`` is WAL with ``synchronous=NORMAL``: a commit reaches
the OS before the caller hears of it, so an acknowledged event survives vcall serve crashing or
being killed, and the file is never corrupted, but a power cut may roll back the last commits.
``full`` (``synchronous=FULL``) also fsyncs the WAL on every commit, so acknowledged events
survive power loss; group commit shares that fsync between concurrent events.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from vcall._errors import StoreError
from vcall._files import ensure_private_dir
from vcall.events import CallEvent
from vcall.store import DEFAULT_DURABILITY, DURABILITY, Rejected, StoredEvent

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    conversation_uuid TEXT,
    uuid TEXT NOT NULL,
    status TEXT NOT NULL,
    direction TEXT,
    "from" TEXT,
    "to" TEXT,
    timestamp TEXT,
    duration TEXT,
    price TEXT,
    dedupe_key TEXT NOT NULL UNIQUE,
    raw BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_conversation ON events (conversation_uuid, id);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    content_type TEXT,
    body BLOB NOT NULL
);
"""
#: Schema changes for stores made by earlier versions; ``PRAGMA user_version`` counts them.
_MIGRATIONS = (
    # 1: dedupe keys lead with the timestamp (see CallEvent.dedupe_key).
    "UPDATE events SET dedupe_key = coalesce(timestamp, '') || '|' || uuid || '|' || status",
)
_EVENT_COLUMNS = (
    'id, received_at, conversation_uuid, uuid, status, direction, "from", "to", '
    "timestamp, duration, price, raw"
)
_STOP = object()
#: Seconds between checkpoints (copying the WAL into the database file) on a thread of their
#: own: run inside a commit every 1,000 pages, as SQLite does by default, each held up that
#: batch's acknowledgements and every write behind it for milliseconds.
CHECKPOINT_EVERY = 0.2
#: Pages of WAL after which a commit checkpoints itself after all. Under steady load the
#: background checkpoint never quite catches up, and only a checkpoint by the writer lets the
#: WAL start over: by then little is left to copy. This bounds the WAL to about 40 MiB.
WRITER_CHECKPOINT_PAGES = 10_000


def utc_now() -> str:
    """Now as ISO-8601 UTC with milliseconds, like the platform's timestamps."""
    # time.strftime: a third of datetime's cost, and this runs once per event.
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def _connect(path: Path, durability: str = DEFAULT_DURABILITY) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={durability.upper()}")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _create_private(path: Path) -> None:
    """Make the database file 0600 before SQLite opens it: its -wal and -shm copy its mode."""
    if not path.parent.exists():
        # Only a folder we create is ours to lock down (--store may point anywhere).
        ensure_private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            file.chmod(0o600)


def _migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, sql in enumerate(_MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(sql)
        conn.execute(f"PRAGMA user_version={number}")
        conn.execute("COMMIT")


def _row_event(row: tuple[Any, ...]) -> StoredEvent:
    return StoredEvent(*row[:11], raw=bytes(row[11]))


class SqliteStore:
    """The default :class:`~vcall.store.EventStore`: one SQLite file in WAL mode."""

    def __init__(self, path: Path, durability: str = DEFAULT_DURABILITY) -> None:
        if durability not in DURABILITY:
            raise StoreError(f"unknown durability {durability!r}: use {' or '.join(DURABILITY)}")
        self.path = path
        self.durability = durability
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._checkpointer: threading.Thread | None = None
        self._closing = threading.Event()
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vcall-store-read")
        self._read_conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Create the file and schema, then start the writer thread."""
        try:
            _create_private(self.path)
            conn = _connect(self.path, self.durability)
            conn.executescript(_SCHEMA)
            _migrate(conn)
            conn.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open event store {self.path}: {exc}") from exc
        self._closing.clear()
        self._writer = threading.Thread(
            target=self._write_loop, args=(conn,), name="vcall-store-write", daemon=True
        )
        self._writer.start()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="vcall-store-checkpoint", daemon=True
        )
        self._checkpointer.start()

    async def close(self) -> None:
        """Let queued writes commit, then stop the threads."""
        if self._checkpointer is not None:
            self._closing.set()
            await asyncio.to_thread(self._checkpointer.join)
            self._checkpointer = None
        if self._writer is not None:
            self._jobs.put(_STOP)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        self._reader.shutdown(wait=True)
        if self._read_conn is not None:
            self._read_conn.close()

    # -- writes ---------------------------------------------------------------------------

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        while True:
            batch = [self._jobs.get()]
            while True:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            stop = any(job is _STOP for job in batch)
            jobs = [job for job in batch if job is not _STOP]
            if jobs:
                self._run_batch(conn, jobs)
            if stop:
                conn.close()
                return

    def _checkpoint_loop(self) -> None:
        conn = _connect(self.path, self.durability)
        while not self._closing.wait(CHECKPOINT_EVERY):
            # PASSIVE copies what it can without waiting for, or blocking, the writer. A failure
            # (busy, disk) is retried next time; the writer's own commits report real trouble.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        conn.close()

    @staticmethod
    def _run_batch(conn: sqlite3.Connection, jobs: list[Any]) -> None:
        """Run every job in one transaction, commit once, then wake each caller's loop once."""
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            outcomes = [(fut, fn(conn), None) for fn, fut, _loop in jobs]
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            # Writes are plain inserts: an error here (disk full, I/O) fails the whole batch.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(fut, None, exc) for _fn, fut, _loop in jobs]
        by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for (_fn, _fut, loop), outcome in zip(jobs, outcomes, strict=True):
            by_loop.setdefault(loop, []).append(outcome)
        for loop, settled in by_loop.items():
            # One thread-safe wake-up per batch, not per event.
            loop.call_soon_threadsafe(_settle_all, settled)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._writer is None:
            raise StoreError("event store is not open")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, fut, loop))
        return await fut

    async def append(self, event: CallEvent) -> StoredEvent | None:
        """Commit ``event``; None if that delivery is already stored."""
        received_at = utc_now()
        row = (
            received_at,
            event.conversation_uuid,
            event.uuid,
            event.status,
            event.direction,
            event.from_,
            event.to,
            event.timestamp,
            event.duration,
            event.price,
            event.dedupe_key,
            event.raw,
        )

        def insert(conn: sqlite3.Connection) -> int | None:
            cur = conn.execute(
                "INSERT OR IGNORE INTO events (received_at, conversation_uuid, uuid, status, "
                'direction, "from", "to", timestamp, duration, price, dedupe_key, raw) '
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            return cur.lastrowid if cur.rowcount else None

        new_id = await self._write(insert)
        if new_id is None:
            return None
        return StoredEvent(new_id, *row[:10], raw=event.raw)

    async def reject(
        self, reason: str, method: str, path: str, content_type: str | None, body: bytes
    ) -> int:
        """Commit a refused body with its reason."""
        row = (utc_now(), reason, method, path, content_type, body)

        def insert(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO rejected (received_at, reason, method, path, content_type, body) "
                "VALUES (?,?,?,?,?,?)",
                row,
            )
            return int(cur.lastrowid or 0)

        return await self._write(insert)

    # -- reads ----------------------------------------------------------------------------

    async def _read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            if self._read_conn is None:
                self._read_conn = _connect(self.path)
            return self._read_conn.execute(sql, params).fetchall()

        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._reader, run)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read event store {self.path}: {exc}") from exc

    async def events(
        self, *, after: int = 0, limit: int = 100, conversation: str | None = None
    ) -> list[StoredEvent]:
        """Events after cursor ``after``, oldest first."""
        where, params = "id > ?", [after]
        if conversation:
            where += " AND conversation_uuid = ?"
            params.append(conversation)
        rows = await self._read(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} ORDER BY id LIMIT ?",
            (*params, limit),
        )
        return [_row_event(r) for r in rows]

    async def last_events(self, n: int, *, conversation: str | None = None) -> list[StoredEvent]:
        """The newest ``n`` events, oldest first."""
        where, params = "1", []
        if conversation:
            where, params = "conversation_uuid = ?", [conversation]
        rows = await self._read(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} ORDER BY id DESC LIMIT ?",
            (*params, n),
        )
        return [_row_event(r) for r in reversed(rows)]

    async def events_by_id(self, ids: Iterable[int]) -> list[StoredEvent]:
        """The events with these cursors (unknown ones are left out), in store order."""
        wanted = sorted(set(ids))
        marks = ",".join("?" * len(wanted))
        rows = await self._read(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE id IN ({marks}) ORDER BY id",
            tuple(wanted),
        )
        return [_row_event(r) for r in rows]

    async def count(self) -> int:
        """Number of stored events."""
        rows = await self._read("SELECT count(*) FROM events", ())
        return int(rows[0][0])

    async def rejected(self, *, limit: int = 100) -> list[Rejected]:
        """Newest refused bodies first."""
        rows = await self._read(
            "SELECT id, received_at, reason, method, path, content_type, body FROM rejected "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [Rejected(*r[:6], body=bytes(r[6])) for r in rows]


def _settle_all(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, value, error in outcomes:
        if fut.cancelled():
            continue
        if error is not None:
            fut.set_exception(StoreError(f"event store write failed: {error}"))
        else:
            fut.set_result(value)
