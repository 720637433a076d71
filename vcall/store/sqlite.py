"""SQLite event store with group commit (:mod:`vcall.store.batching`).

Writes run on the event loop itself: the flush task runs each batch in a single transaction
and commits once. No thread hand-off and no lock contention on the hot path: an insert costs
microseconds, less than waking a writer thread would. Reads use their own connection on
another thread (WAL lets them run alongside the writes).

Ids commit in order: a writer takes the file's one write lock before it picks the next ids,
so no event can commit after a reader has passed its id, also when several processes (vcall
serve ``--workers``, or two servers on one file) write it. A commit in this process wakes the
watchers at once; one in another process is seen within ``WATCH_EVERY`` (the file's
``data_version``, polled while anyone watches).

Durability (``--durability``): ``normal`` is WAL with ``synchronous=NORMAL``: a commit reaches
the OS before the caller hears of it, so an acknowledged event survives vcall serve crashing or
being killed, and the file is never corrupted, but a power cut may roll back the last commits.
Such a commit is a write to the page cache, cheap enough for the loop. ``full``
(``synchronous=FULL``) also fsyncs the WAL on every commit, so acknowledged events survive power
loss; that commit runs on a worker thread, so the loop keeps serving (and gathering the next
batch) while the disk syncs, and group commit shares the fsync between concurrent events.

Checkpoints (copying the WAL into the database file, with an fsync) never run on the loop: a
thread of their own does them.

The driver is apsw, which bundles a current SQLite: an event costs fewer instructions than
through the standard library's sqlite3 module on the system's older SQLite (bench/README.md).
The file is an ordinary SQLite database: any SQLite tool reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from operator import itemgetter
from pathlib import Path
from typing import Any

import apsw

from vcall import answer_requests
from vcall._errors import StoreError
from vcall._files import ensure_private_dir
from vcall.answer_requests import AnswerRequest, StoredAnswer
from vcall.events import COLUMNS, CallEvent, StoredEvent, utc_now
from vcall.store.batching import MAX_BATCH, GroupCommit, Queue
from vcall.store.contract import DEFAULT_DURABILITY, Rejected

#: Ids are rowids without AUTOINCREMENT: events are never deleted, so each new one gets the
#: next id all the same, and a commit skips updating sqlite_sequence (a page written per batch).
_EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
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
)"""
_CONVERSATION_INDEX = (
    "CREATE INDEX IF NOT EXISTS events_conversation ON events (conversation_uuid, id)"
)
_SCHEMA = f"""
{_EVENTS_TABLE};
{_CONVERSATION_INDEX};
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
    ("UPDATE events SET dedupe_key = coalesce(timestamp, '') || '|' || uuid || '|' || status",),
    # 2: no AUTOINCREMENT (see _EVENTS_TABLE): the table is rebuilt, every id kept.
    (
        "ALTER TABLE events RENAME TO events_v1",
        _EVENTS_TABLE,
        "INSERT INTO events SELECT * FROM events_v1",
        "DROP TABLE events_v1",
        _CONVERSATION_INDEX,
    ),
    # 3: answer requests (vcall.answer_requests), found by arrival time (see its around()).
    (
        """CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            received_at TEXT NOT NULL,
            conversation_uuid TEXT,
            uuid TEXT,
            path TEXT NOT NULL,
            method TEXT NOT NULL,
            query TEXT NOT NULL,
            body BLOB,
            signature TEXT NOT NULL,
            status INTEGER NOT NULL,
            response BLOB NOT NULL,
            took_ms REAL NOT NULL
        )""",
        "CREATE INDEX answers_received ON answers (received_at)",
    ),
)
#: What reads select: every column of a StoredEvent, in order.
_EVENT_COLUMNS = ", ".join(COLUMNS)
#: What an insert writes: a CallEvent's columns after its arrival time (the id is the rowid).
_INSERT_COLUMNS = ", ".join(COLUMNS[1:])
_INSERT_EVENTS = f"INSERT OR IGNORE INTO events ({_INSERT_COLUMNS}) VALUES "
_ANSWER_COLUMNS = ", ".join(answer_requests.COLUMNS)
_INSERT_ANSWERS = f"INSERT INTO answers ({', '.join(answer_requests.COLUMNS[1:])}) VALUES "


@functools.cache
def _insert_sql(head: str, width: int, rows: int) -> str:
    """``head`` and ``rows`` rows of ``width`` values: a batch is one statement, not one per
    row (apsw's ``executemany`` looks its statement up again for every row, a visible share of
    a webhook's instructions: bench/instructions.py)."""
    return head + ",".join(["(" + ",".join("?" * width) + ")"] * rows)


_INSERT_REJECTED = (
    "INSERT INTO rejected (received_at, reason, method, path, content_type, body) "
    "VALUES (?,?,?,?,?,?)"
)
#: Above every cursor: SQLite integers are 64-bit.
_MAX_ID = 2**63 - 1
#: Seconds between passive checkpoints on the checkpoint thread.
CHECKPOINT_EVERY = 0.2
#: Pages of WAL after which the checkpoint thread holds writes back for a moment (a RESTART
#: checkpoint) so the WAL can start over: under steady load a passive checkpoint never quite
#: catches up, and the WAL would grow without bound. This bounds it to about 40 MiB.
RESTART_PAGES = 10_000
#: How long a RESTART checkpoint may wait for the write lock or readers before it gives up
#: (and stays passive); writes wait at most about this long for it.
RESTART_WAIT_MS = 100
#: The most events one ``INSERT`` carries (a bigger batch takes several): as many as a batch
#: gathers (vcall.store.batching).
INSERT_ROWS = MAX_BATCH
#: Prepared statements a connection keeps: one ``INSERT`` for each batch size up to
#: ``INSERT_ROWS``, and room for the others.
STATEMENT_CACHE = INSERT_ROWS + 64
#: How long a batch waits for another process holding the write lock before it fails.
BUSY_TIMEOUT = 5.0
#: Seconds between attempts to take the write lock while another connection holds it.
BUSY_RETRY = 0.001
#: Seconds between looks for commits by other processes while anyone watches.
WATCH_EVERY = 0.01


def _connect(
    path: Path, durability: str = DEFAULT_DURABILITY, busy_ms: int = 5000
) -> apsw.Connection:
    conn = apsw.Connection(str(path), statementcachesize=STATEMENT_CACHE)
    # First: switching to WAL takes a lock that another process opening the file may hold.
    conn.execute(f"PRAGMA busy_timeout={busy_ms}")
    # SQLite answers BUSY at once, without its busy handler, while another connection is
    # midway through the same switch (processes opening a new file together): try again.
    give_up = time.monotonic() + busy_ms / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            break
        except apsw.BusyError:
            if time.monotonic() > give_up:
                raise
            time.sleep(BUSY_RETRY)
    conn.execute(f"PRAGMA synchronous={durability.upper()}")
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


def _create_schema(conn: apsw.Connection) -> None:
    """Create and migrate the schema in one write transaction: several processes opening one
    file at once (``--workers``) take turns, and each sees the version the last one left."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_SCHEMA)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for statements in _MIGRATIONS[version:]:
            for sql in statements:
                conn.execute(sql)
        conn.execute(f"PRAGMA user_version={max(version, len(_MIGRATIONS))}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _insert_events(
    conn: apsw.Connection, received_at: str, events: Sequence[CallEvent]
) -> Sequence[int | None]:
    """Insert ``events`` (one statement for up to ``INSERT_ROWS``); each one's new id, or None
    for a repeat delivery.

    Inside the transaction this connection is the only writer, so the new rows get the ids
    after the largest one, in order: no query per event to learn its id.
    """
    if not events:
        return []
    first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM events").fetchone()[0]
    before = conn.total_changes()
    for start in range(0, len(events), INSERT_ROWS):
        chunk = events[start : start + INSERT_ROWS]
        params: list[Any] = []
        for event in chunk:
            params.append(received_at)
            params.extend(event)
        conn.execute(_insert_sql(_INSERT_EVENTS, len(COLUMNS) - 1, len(chunk)), params)
    added = conn.total_changes() - before
    if added == len(events):
        return range(first, first + added)
    # Some were stored before (or came twice in this batch): read back the new rows, which hold
    # the inserted events' keys in order.
    query = "SELECT id, dedupe_key FROM events WHERE id >= ? ORDER BY id"
    rows = conn.execute(query, (first,)).fetchall()
    ids: list[int | None] = []
    inserted = 0
    for event in events:
        if inserted < len(rows) and rows[inserted][1] == event.dedupe_key:
            ids.append(rows[inserted][0])
            inserted += 1
        else:
            ids.append(None)
    return ids


class SqliteStore(GroupCommit):
    """The default :class:`~vcall.store.EventStore`: one SQLite file in WAL mode.

    Use it from the event loop it was opened on.
    """

    def __init__(self, path: Path, durability: str = DEFAULT_DURABILITY) -> None:
        super().__init__(durability)
        self.path = path
        #: How messages name the store.
        self.location = str(path)
        self._conn: apsw.Connection | None = None
        self._checkpointer: threading.Thread | None = None
        self._closing = threading.Event()
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vcall-store-read")
        self._read_conn: apsw.Connection | None = None
        self._poller: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Create the file and schema, then start the flush task and the checkpoint thread."""
        try:
            _create_private(self.path)
            conn = _connect(self.path, self.durability)
            _create_schema(conn)
            # The loop never waits inside SQLite: no checkpoints in its commits (the thread
            # does them) and no sleeping busy handler (the flush task retries instead).
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute("PRAGMA busy_timeout=0")
        except (apsw.Error, OSError) as exc:
            raise StoreError(f"cannot open event store {self.path}: {exc}") from exc
        self._conn = conn
        self._start_flushing()
        self._closing.clear()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="vcall-store-checkpoint", daemon=True
        )
        self._checkpointer.start()

    async def close(self) -> None:
        """Let queued writes commit, then stop the flush task and the threads."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._checkpointer is not None:
            self._closing.set()
            await asyncio.to_thread(self._checkpointer.join)
            self._checkpointer = None
        await self._stop_flushing()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._reader.shutdown(wait=True)
        if self._read_conn is not None:
            self._read_conn.close()

    # -- writes ---------------------------------------------------------------------------

    async def _commit(
        self, events: Queue, rejects: Queue, answers: Sequence[AnswerRequest]
    ) -> None:
        """Write the queues in one transaction, commit once, then settle each caller's future."""
        conn = self._conn
        assert conn is not None
        try:
            await self._begin(conn)
            now = utc_now()
            event_ids = _insert_events(conn, now, [event for event, _fut in events])
            reject_ids = []
            for row, _fut in rejects:
                conn.execute(_INSERT_REJECTED, (now, *row))
                reject_ids.append(conn.last_insert_rowid())
            answers_kept = self._insert_answers(conn, answers)
            if self.durability == "full":
                await asyncio.to_thread(conn.execute, "COMMIT")  # an fsync: not on the loop
            else:
                conn.execute("COMMIT")
        except Exception as exc:
            # Writes are plain inserts: an error here (disk full, I/O) fails the whole batch.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._fail([*events, *rejects], f"event store write failed: {exc}")
            if answers:
                self._answers_lost(len(answers), str(exc))
            return
        self._settle(events, event_ids, now)
        self._settle_rejects(rejects, reject_ids)
        if answers_kept:
            self._answers_written()
        if events:
            self._wake_watchers()

    def _insert_answers(self, conn: apsw.Connection, answers: Sequence[AnswerRequest]) -> bool:
        """Insert ``answers`` in the open transaction; a failure fails them alone (SQLite
        undoes just the statement) and the batch's events commit all the same."""
        if not answers:
            return False
        width = len(answer_requests.COLUMNS) - 1
        try:
            for start in range(0, len(answers), INSERT_ROWS):
                chunk = answers[start : start + INSERT_ROWS]
                params = [value for answer in chunk for value in answer]
                conn.execute(_insert_sql(_INSERT_ANSWERS, width, len(chunk)), params)
        except apsw.Error as exc:
            self._answers_lost(len(answers), str(exc))
            return False
        return True

    @staticmethod
    async def _begin(conn: apsw.Connection) -> None:
        """Take the write lock, waiting on the loop (not in SQLite) while another holds it."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except apsw.BusyError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(BUSY_RETRY)

    def _checkpoint_loop(self) -> None:
        conn = _connect(self.path, self.durability, busy_ms=RESTART_WAIT_MS)
        while not self._closing.wait(CHECKPOINT_EVERY):
            # PASSIVE copies what it can without waiting for, or blocking, the writes; when the
            # WAL has grown large all the same, RESTART lets it start over. A failure (busy,
            # disk) is retried next time; the writes' own commits report real trouble.
            with contextlib.suppress(apsw.Error):
                _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if frames >= RESTART_PAGES:
                    conn.execute("PRAGMA wal_checkpoint(RESTART)")
        conn.close()

    # -- being told of commits by other processes -------------------------------------------

    def watch(self, wake: Callable[[], None]) -> None:
        """As :meth:`GroupCommit.watch`; the first watcher starts the look for commits made
        by other processes."""
        super().watch(wake)
        if self._poller is None and self._loop is not None:
            self._poller = self._loop.create_task(self._poll(), name="vcall-store-watch")

    def unwatch(self, wake: Callable[[], None]) -> None:
        """As :meth:`GroupCommit.unwatch`; the look stops with the last watcher."""
        super().unwatch(wake)
        if not self._watchers and self._poller is not None:
            self._poller.cancel()
            self._poller = None

    async def _poll(self) -> None:
        """Wake the watchers when the file's ``data_version`` moves: another connection (this
        process's writer, or another process) committed."""
        seen = None
        while True:
            try:
                version = (await self._read("PRAGMA data_version", ()))[0][0]
            except StoreError:
                version = seen  # a read that failed: the next look tries again
            if seen is not None and version != seen:
                self._wake_watchers()
            seen = version
            await asyncio.sleep(WATCH_EVERY)

    # -- reads ----------------------------------------------------------------------------

    async def _read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return await self._read_each(sql, [params])

    async def _read_each(
        self, sql: str, param_sets: Sequence[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        """``sql`` run once per set of parameters, in one go on the reading thread; every
        row, in turn."""

        def run() -> list[tuple[Any, ...]]:
            if self._read_conn is None:
                self._read_conn = _connect(self.path)
            rows: list[tuple[Any, ...]] = []
            for params in param_sets:
                rows.extend(self._read_conn.execute(sql, params).fetchall())
            return rows

        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._reader, run)
        except apsw.Error as exc:
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
        return [StoredEvent._make(r) for r in rows]

    async def last_events(self, n: int, *, conversation: str | None = None) -> list[StoredEvent]:
        """The newest ``n`` events, oldest first."""
        where, params = "1", []
        if conversation:
            where, params = "conversation_uuid = ?", [conversation]
        rows = await self._read(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} ORDER BY id DESC LIMIT ?",
            (*params, n),
        )
        return [StoredEvent._make(r) for r in reversed(rows)]

    async def events_by_id(self, ids: Iterable[int]) -> list[StoredEvent]:
        """The events with these cursors (unknown ones are left out), in store order."""
        wanted = sorted(set(ids))
        marks = ",".join("?" * len(wanted))
        rows = await self._read(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE id IN ({marks}) ORDER BY id",
            tuple(wanted),
        )
        return [StoredEvent._make(r) for r in rows]

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

    async def recent(
        self, *, before: int | None = None, limit: int = 1000
    ) -> list[tuple[int, str | None]]:
        """``(id, conversation_uuid)`` of the newest ``limit`` events below cursor ``before``
        (None: of all), newest first."""
        rows = await self._read(
            "SELECT id, conversation_uuid FROM events WHERE id < ? ORDER BY id DESC LIMIT ?",
            (_MAX_ID if before is None else before, limit),
        )
        return [(r[0], r[1]) for r in rows]

    async def calls_events(
        self, conversations: Sequence[str], *, newest: int = 1000
    ) -> list[StoredEvent]:
        """The newest ``newest`` events of each of these conversations, in store order."""
        rows = await self._read_each(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE conversation_uuid = ? "
            "ORDER BY id DESC LIMIT ?",
            [(conversation, newest) for conversation in dict.fromkeys(conversations)],
        )
        return sorted((StoredEvent._make(r) for r in rows), key=itemgetter(0))

    async def leg_conversation(self, uuid: str) -> str | None:
        """The conversation of leg ``uuid`` (its newest event's), or None if no event has it.

        Legs have no index (one would cost every event's insert): the newest events are looked
        at first, and a leg that is not there is looked for through the whole store.
        """
        rows = await self._read(
            "SELECT conversation_uuid FROM events WHERE uuid = ? ORDER BY id DESC LIMIT 1",
            (uuid,),
        )
        return rows[0][0] if rows else None

    async def answers(self, conversation: str, *, since: str, until: str) -> list[StoredAnswer]:
        """The answer requests of one call that arrived between ``since`` and ``until``
        (:func:`vcall.answer_requests.around`), in the order they were kept."""
        rows = await self._read(
            f"SELECT {_ANSWER_COLUMNS} FROM answers WHERE received_at BETWEEN ? AND ? "
            "AND conversation_uuid = ? ORDER BY id",
            (since, until, conversation),
        )
        return [StoredAnswer._make(r) for r in rows]
