"""PostgreSQL event store: the SQLite store's contract, for several vcall serve instances.

Writes are group-committed as in the SQLite store (:mod:`vcall.store.batching`): a batch goes
in as one statement on one connection (its own transaction, one round trip), and each caller
hears of its event only once that commit has returned, with ``synchronous_commit`` on: the
server has the event in its write-ahead log on disk. Statement and cursor design:
:mod:`vcall.store.pg_schema`.

Readers take a small pool of connections. A commit of events notifies the channel
:data:`~vcall.store.pg_schema.CHANNEL` (a trigger does it, in the same transaction); one
connection listens, and every watcher (:meth:`PostgresStore.watch`) is woken, whichever
instance committed. Watchers read from the store: a notification carries nothing.

When the server goes away (restarted, unreachable), writes fail at once with
:class:`~vcall._errors.StoreError` (the webhook answers 503 and Vonage retries), a batch in
flight fails too (it may have committed: the retry is then a repeat, stored once), and a task
reconnects in the background; :meth:`PostgresStore.health` says what is wrong meanwhile.

The driver is asyncpg: on the event path it costs this process half the CPU of psycopg 3 and
writes faster (bench/pg_drivers.py, bench/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from vcall._errors import StoreError
from vcall._logging import protect
from vcall.answer_requests import AnswerRequest, StoredAnswer
from vcall.events import CallEvent, StoredEvent, utc_now
from vcall.store import pg_schema as sql
from vcall.store.batching import GroupCommit, Queue
from vcall.store.contract import DEFAULT_DURABILITY, Rejected
from vcall.store.location import password, shown

logger = logging.getLogger("vcall.store")

#: Seconds to connect before giving up, and a write may take before it fails (503).
CONNECT_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
#: Read connections per instance (the stream's follower, API pages, catch-ups).
READERS = 4
#: Seconds between reconnection attempts: the first soon, then backing off to the last.
RETRY_FIRST, RETRY_MAX = 0.05, 1.0
#: Seconds before readers look again when committed events are held back by an older
#: transaction still running (one that will not notify when it ends: an aborted batch, a
#: transaction outside vcall); doubled while it lasts, up to the second.
HELD_FIRST, HELD_MAX = 0.002, 0.5
#: Every connection commits synchronously, whatever the server's default: an acknowledged
#: event is in the write-ahead log on disk.
_SETTINGS = {"synchronous_commit": "on", "application_name": "vcall"}
#: What a database call may raise: the server's errors, the driver's, the network's.
_FAILURES = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)
#: Of those, the ones after which the connection is of no more use.
_DISCONNECTED = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # the server shutting down, a backend killed
    # The driver lost track of the protocol (seen after a restart on uvloop): start afresh.
    asyncpg.exceptions.InternalClientError,
)


def _disconnected(conn: asyncpg.Connection, exc: BaseException) -> bool:
    return conn.is_closed() or isinstance(exc, _DISCONNECTED)


class PostgresStore(GroupCommit):
    """An :class:`~vcall.store.EventStore` on a PostgreSQL database, shared by any number of
    vcall serve instances. Use it from the event loop it was opened on.

    ``url`` is a ``postgresql://`` URL; whatever it leaves out comes from the standard
    ``PG*`` environment variables (PGHOST, PGUSER, PGPASSWORD, PGPASSFILE, PGSSLMODE...).
    Tables go in the connection's current schema (``search_path``).
    """

    max_commit = sql.MAX_STATEMENT

    def __init__(self, url: str, durability: str = DEFAULT_DURABILITY) -> None:
        # Both durability levels get a commit on disk: PostgreSQL has no cheaper commit that
        # a crash of the server cannot undo.
        super().__init__(durability)
        self.url = url
        #: The URL without its password, for messages.
        self.location = shown(url)
        self._password = password(url)
        protect(self._password)
        self._writer: asyncpg.Connection | None = None
        self._listener: asyncpg.Connection | None = None
        self._pool: asyncpg.Pool | None = None
        self._recovery: asyncio.Task[None] | None = None
        self._problem: str | None = None
        self._held_delay = 0.0
        self._held_timer: asyncio.TimerHandle | None = None

    # -- life cycle -----------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, create or migrate the schema, then start the flush task and listening."""
        try:
            self._writer = await self._connect_writer()
            await self._migrate(self._writer)
            self._pool = await asyncpg.create_pool(
                self.url,
                # No floor to keep: a pool that keeps one reconnects (and logs tracebacks)
                # on its own while the server is down; this one connects when read.
                min_size=0,
                max_size=READERS,
                timeout=CONNECT_TIMEOUT,
                server_settings=_SETTINGS,
            )
            self._listener = await self._listen()
        except StoreError:
            await self._release()
            raise
        except (*_FAILURES, ValueError) as exc:  # ValueError: a URL asyncpg cannot read
            await self._release()
            raise StoreError(f"cannot open event store {self.location}: {self._why(exc)}") from None
        self._start_flushing()

    async def close(self) -> None:
        """Let queued writes commit, then close every connection."""
        await self._stop_flushing()
        if self._recovery is not None:
            self._recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recovery
            self._recovery = None
        if self._held_timer is not None:
            self._held_timer.cancel()
        await self._release()

    async def _release(self) -> None:
        writer, listener, pool = self._writer, self._listener, self._pool
        self._writer = self._listener = self._pool = None
        for conn in (writer, listener):
            if conn is not None:
                await self._close_connection(conn)
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), CONNECT_TIMEOUT)
            except _FAILURES:
                pool.terminate()

    @staticmethod
    async def _close_connection(conn: asyncpg.Connection) -> None:
        try:
            await asyncio.wait_for(conn.close(), CONNECT_TIMEOUT)
        except _FAILURES:
            conn.terminate()

    def health(self) -> str | None:
        """None while the database is reachable; else what is wrong, in one line."""
        return self._problem

    def _why(self, exc: BaseException) -> str:
        """``exc`` in one line, without the password."""
        text = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, TimeoutError):
            text = f"no answer in {CONNECT_TIMEOUT:g} s"
        elif isinstance(exc, asyncpg.exceptions.InternalClientError):
            text = "the connection broke off"
        if self._password:
            text = text.replace(self._password, "[redacted]")
        return text

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT, server_settings=_SETTINGS)

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        """Create the schema, or bring it up to date, one instance at a time."""
        async with conn.transaction():
            await conn.execute(sql.MIGRATION_LOCK)
            if await conn.fetchval("SELECT current_schema()") is None:
                raise StoreError(
                    f"cannot open event store {self.location}: no schema to create tables in "
                    "(the search_path names none that exists)"
                )
            exists = await conn.fetchval("SELECT to_regclass('vcall_migrations') IS NOT NULL")
            if not exists:
                taken = await conn.fetch(sql.EXISTING_TABLES, list(sql.OWN_TABLES))
                if taken:
                    names = ", ".join(sorted(r[0] for r in taken))
                    raise StoreError(
                        f"cannot open event store {self.location}: it already has tables "
                        f"vcall did not make ({names}); give vcall a database or schema of its own"
                    )
                await conn.execute(sql.CREATE_MIGRATIONS)
            applied = await conn.fetchval(sql.APPLIED)
            if applied > len(sql.MIGRATIONS):
                raise StoreError(
                    f"event store {self.location} was made by a newer vcall (schema version "
                    f"{applied}, this one knows {len(sql.MIGRATIONS)}): upgrade vcall"
                )
            for version, statements in enumerate(sql.MIGRATIONS[applied:], start=applied + 1):
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute(sql.RECORD_MIGRATION, version)

    async def _connect_writer(self) -> asyncpg.Connection:
        conn = await self._connect()
        conn.add_termination_listener(self._writer_lost)
        return conn

    async def _listen(self) -> asyncpg.Connection:
        conn = await self._connect()
        await conn.add_listener(sql.CHANNEL, self._notified)
        conn.add_termination_listener(self._listener_lost)
        return conn

    # -- being told of commits ------------------------------------------------------------

    def _notified(self, *_args: object) -> None:
        self._wake_watchers()

    def _listener_lost(self, conn: asyncpg.Connection) -> None:
        if conn is self._listener and not self._stopping:
            self._listener = None
            self._lost("the listening connection to PostgreSQL was closed")

    def _writer_lost(self, conn: asyncpg.Connection) -> None:
        # Found out as the server closes it (a restart), not at the next write.
        if conn is self._writer and not self._stopping:
            self._writer = None
            self._lost("the connection to PostgreSQL was closed")

    def _held_back(self, held: bool) -> None:
        """Readers saw events that an older transaction holds back: look again soon (no
        notification may come when it ends), backing off while it lasts."""
        if not held:
            self._held_delay = 0.0
            return
        if self._held_timer is not None or self._loop is None or not self._watchers:
            return
        self._held_delay = min(max(self._held_delay * 2, HELD_FIRST), HELD_MAX)

        def again() -> None:
            self._held_timer = None
            self._wake_watchers()

        self._held_timer = self._loop.call_later(self._held_delay, again)

    # -- losing and finding the server ----------------------------------------------------

    def _lost(self, reason: str) -> None:
        """Note the store as degraded and reconnect in the background (once)."""
        if self._problem is None:
            logger.warning("event store %s: %s; reconnecting", self.location, reason)
        self._problem = reason
        if self._stopping or (self._recovery is not None and not self._recovery.done()):
            return
        self._recovery = asyncio.get_running_loop().create_task(
            self._recover(), name="vcall-store-reconnect"
        )

    async def _recover(self) -> None:
        delay = RETRY_FIRST
        while not self._stopping:
            try:
                if self._writer is None or self._writer.is_closed():
                    self._writer = await self._connect_writer()
                if self._listener is None or self._listener.is_closed():
                    self._listener = await self._listen()
            except _FAILURES as exc:
                self._problem = f"cannot reach PostgreSQL: {self._why(exc)}"
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            logger.warning("event store %s: reconnected", self.location)
            self._problem = None
            # Notifications sent while no one listened are lost: readers look for themselves.
            self._wake_watchers()
            return

    # -- writes ---------------------------------------------------------------------------

    async def _commit(
        self, events: Queue, rejects: Queue, answers: Sequence[AnswerRequest]
    ) -> None:
        """Insert the queues (a statement each), settling each caller's future as soon as its
        statement has returned; answer requests last."""
        conn = self._writer
        if conn is None or conn.is_closed():
            self._writer = None
            self._lost(self._problem or "the connection to PostgreSQL was closed")
            self._fail([*events, *rejects], f"event store unavailable: {self._problem}")
            if answers:
                self._answers_lost(len(answers), f"event store unavailable: {self._problem}")
            return
        now = utc_now()
        try:
            if events:
                await self._settle_events(conn, now, events)
            if rejects:
                rows = await conn.fetch(
                    sql.INSERT_REJECTED,
                    now,
                    *map(list, zip(*(row for row, _fut in rejects), strict=True)),
                    timeout=WRITE_TIMEOUT,
                )
                self._settle_rejects(rejects, sorted(r[0] for r in rows))
        except _FAILURES as exc:
            if not _disconnected(conn, exc):
                self._fail([*events, *rejects], f"event store write failed: {self._why(exc)}")
                return
            # The outcome of the statement in flight is unknown: its callers answer 503, and
            # a retried delivery that did commit is a repeat, stored once.
            if self._writer is conn:  # (not a new one the reconnection made meanwhile)
                self._writer = None
            conn.terminate()
            self._lost(f"lost the connection to PostgreSQL: {self._why(exc)}")
            self._fail([*events, *rejects], f"event store write failed: {self._problem}")
            if answers:
                self._answers_lost(len(answers), self._problem or "lost the connection")
            return
        if events:
            self._wake_watchers()
        if answers:
            await self._insert_answers(conn, answers)

    async def _insert_answers(
        self, conn: asyncpg.Connection, answers: Sequence[AnswerRequest]
    ) -> None:
        """One INSERT of ``answers``; a failure loses them alone (no one waits for them)."""
        rows = [_answer_without_nul(answer) for answer in answers]
        try:
            await conn.execute(
                sql.INSERT_ANSWERS,
                *(list(column) for column in zip(*rows, strict=True)),
                timeout=WRITE_TIMEOUT,
            )
        except _FAILURES as exc:
            self._answers_lost(len(answers), self._why(exc))
            if _disconnected(conn, exc):
                if self._writer is conn:
                    self._writer = None
                conn.terminate()
                self._lost(f"lost the connection to PostgreSQL: {self._why(exc)}")
            return
        self._answers_written()

    async def _settle_events(self, conn: asyncpg.Connection, now: str, events: Queue) -> None:
        """Insert ``events`` as one statement and settle their futures; if the database
        refuses the batch for what one event holds, each goes in alone, so only that one
        fails."""
        try:
            ids = await self._insert(conn, now, [event for event, _fut in events])
        except _FAILURES as exc:
            if len(events) == 1 or _disconnected(conn, exc):
                raise
            for one in events:
                try:
                    await self._settle_events(conn, now, [one])
                except _FAILURES as alone:
                    if _disconnected(conn, alone):
                        raise
                    self._fail([one], f"event store refused the event: {self._why(alone)}")
            return
        self._settle(events, ids, now)

    @staticmethod
    async def _insert(
        conn: asyncpg.Connection, now: str, events: Sequence[CallEvent]
    ) -> list[int | None]:
        """One INSERT of ``events``; each one's new id, or None for a repeat delivery."""
        rows = [event if b"\\u0000" not in event.raw else _without_nul(event) for event in events]
        columns = [list(column) for column in zip(*rows, strict=True)]
        stored = await conn.fetch(sql.INSERT_EVENTS, now, *columns, timeout=WRITE_TIMEOUT)
        ids: list[int | None] = [None] * len(events)
        mask = (1 << sql.ORDINAL_BITS) - 1
        for (new_id,) in stored:
            ids[(new_id & mask) - 1] = new_id
        return ids

    def _queue(self, queue: Queue, item: Any) -> asyncio.Future[Any]:
        if self._writer is None and self._flusher is not None and not self._stopping:
            # Down: fail at once (503), not after a wait; the reconnection goes on.
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            fut.set_exception(StoreError(f"event store unavailable: {self._problem}"))
            return fut
        return super()._queue(queue, item)

    # -- reads ----------------------------------------------------------------------------

    async def _read(self, query: str, *params: Any) -> list[Any]:
        pool = self._pool
        if pool is None:
            raise StoreError("event store is not open")
        try:
            return await pool.fetch(query, *params, timeout=WRITE_TIMEOUT)
        except _FAILURES as exc:
            raise StoreError(f"cannot read event store {self.location}: {self._why(exc)}") from None

    async def events(
        self, *, after: int = 0, limit: int = 100, conversation: str | None = None
    ) -> list[StoredEvent]:
        """Events after cursor ``after``, oldest first, up to the horizon (see pg_schema)."""
        if conversation:
            rows = await self._read(sql.PAGE_OF_CONVERSATION, after, limit, conversation)
        else:
            rows = await self._read(sql.PAGE, after, limit)
        horizon, newest = rows[0][0], rows[0][1]
        self._held_back(newest is not None and newest >= horizon)
        return [_stored(row[2:]) for row in rows if row[2] is not None]

    async def last_events(self, n: int, *, conversation: str | None = None) -> list[StoredEvent]:
        """The newest ``n`` events below the horizon, oldest first."""
        if conversation:
            rows = await self._read(sql.LAST_OF_CONVERSATION, n, conversation)
        else:
            rows = await self._read(sql.LAST_ALL, n)
        return [_stored(row) for row in reversed(rows)]

    async def events_by_id(self, ids: Iterable[int]) -> list[StoredEvent]:
        """The events with these cursors (unknown ones are left out), in store order."""
        rows = await self._read(sql.BY_ID, sorted(set(ids)))
        return [_stored(row) for row in rows]

    async def count(self) -> int:
        """Number of stored events."""
        rows = await self._read(sql.COUNT)
        return int(rows[0][0])

    async def rejected(self, *, limit: int = 100) -> list[Rejected]:
        """Newest refused bodies first."""
        rows = await self._read(sql.REJECTED, limit)
        return [Rejected(*row) for row in rows]

    async def recent(
        self, *, before: int | None = None, limit: int = 1000
    ) -> list[tuple[int, str | None]]:
        """``(id, conversation_uuid)`` of the newest ``limit`` events below cursor ``before``
        (None: of all), newest first."""
        rows = await self._read(sql.RECENT, _MAX_ID if before is None else before, limit)
        return [(row[0], row[1]) for row in rows]

    async def calls_events(
        self, conversations: Sequence[str], *, newest: int = 1000
    ) -> list[StoredEvent]:
        """The newest ``newest`` events of each of these conversations, in store order."""
        rows = await self._read(sql.CALLS_EVENTS, list(dict.fromkeys(conversations)), newest)
        return [_stored(row) for row in rows]

    async def leg_conversation(self, uuid: str) -> str | None:
        """The conversation of leg ``uuid`` (its newest event's), or None if no event has it
        (legs have no index: see the SQLite store)."""
        rows = await self._read(sql.LEG_CONVERSATION, uuid)
        return rows[0][0] if rows else None

    async def answers(self, conversation: str, *, since: str, until: str) -> list[StoredAnswer]:
        """The answer requests of one call that arrived between ``since`` and ``until``
        (:func:`vcall.answer_requests.around`), in the order they were kept."""
        rows = await self._read(sql.ANSWERS, since, until, conversation)
        return [tuple.__new__(StoredAnswer, tuple(row)) for row in rows]


#: Above every cursor (ids are 64-bit).
_MAX_ID = 2**63 - 1


def _stored(row: Sequence[Any]) -> StoredEvent:
    return tuple.__new__(StoredEvent, tuple(row))


def _without_nul(event: CallEvent) -> CallEvent:
    """``event`` with NUL characters in its columns replaced (PostgreSQL text cannot hold
    them); the raw body, stored as bytes, keeps them."""
    return event._replace(
        **{
            name: value.replace("\x00", "\ufffd")
            for name, value in zip(event._fields[:10], event[:10], strict=True)
            if value is not None
        }
    )


def _answer_without_nul(answer: AnswerRequest) -> AnswerRequest:
    """``answer`` with NUL characters in its text replaced (as :func:`_without_nul`): only the
    ids read from the request can hold one (the query string is kept percent-encoded)."""
    conversation, leg = answer.conversation_uuid, answer.uuid
    if "\x00" not in (conversation or "") + (leg or ""):
        return answer
    return answer._replace(
        conversation_uuid=conversation and conversation.replace("\x00", "\ufffd"),
        uuid=leg and leg.replace("\x00", "\ufffd"),
    )
