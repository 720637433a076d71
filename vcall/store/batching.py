"""Group commit, as both stores do it: writes queue up, one task commits them in batches.

Every handler that asks for a write while the loop is busy joins the pending batch, and one
flush task commits the whole batch at once; each caller's future resolves only after that
commit. A batch gathers for as long as it grows: the flush task yields one loop pass at a time
while the last pass added writes (webhooks whose requests arrived meanwhile), and commits after
the first pass that adds none, or at ``MAX_BATCH`` writes or ``GATHER_FOR`` seconds. A commit
costs about as much as five inserts, so under load this shares each one between many more
events (at 32 connections most commits hold all 32 events, against 11 on average when every
pass committed its own), while a lone webhook waits one extra pass, a few microseconds.

Answer requests (:meth:`GroupCommit.record_answer`) ride along in the same batches, but no
one waits for them: the answer to Vonage is sent at once, and a batch writes its answer
requests after its events (and a failure to write them fails no event).

The store says what a commit is (:meth:`GroupCommit._commit`); this module also keeps the
functions that want to hear of commits (:meth:`GroupCommit.watch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from vcall._errors import StoreError
from vcall.answer_requests import AnswerRequest
from vcall.events import CallEvent, StoredEvent
from vcall.store.contract import DURABILITY

logger = logging.getLogger("vcall.store")

#: Writes waiting for the next commit, each with the future its caller awaits.
Queue = list[tuple[Any, "asyncio.Future[Any]"]]

#: Most writes a batch gathers before it commits (it may hold more: all queued in one pass).
MAX_BATCH = 64
#: Longest a batch gathers, in seconds: a steady stream of writes still commits this often.
GATHER_FOR = 0.001
#: Most answer requests waiting for a commit; more are left out of the record (and said so
#: in the log) rather than let memory grow while the store is slow.
MAX_ANSWERS = 10_000


class GroupCommit:
    """The writing half of a store: ``append`` and ``reject`` queue, a task commits.

    Use it from the event loop the store was opened on.
    """

    #: Most writes one commit takes; the rest wait for the next (None: no limit).
    max_commit: int | None = None

    def __init__(self, durability: str) -> None:
        if durability not in DURABILITY:
            raise StoreError(f"unknown durability {durability!r}: use {' or '.join(DURABILITY)}")
        #: What an acknowledged event survives: a key of :data:`~vcall.store.DURABILITY`.
        self.durability = durability
        self._events: Queue = []
        self._rejects: Queue = []
        self._answers: list[AnswerRequest] = []
        self._answers_dropped = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._watchers: list[Callable[[], None]] = []

    async def _commit(
        self, events: Queue, rejects: Queue, answers: Sequence[AnswerRequest]
    ) -> None:
        """Commit the queues and settle every future (:meth:`_settle`, :meth:`_fail`);
        ``answers`` go in after the events, and no one waits for them (:meth:`_answers_lost`
        if they cannot be written)."""
        raise NotImplementedError

    def _start_flushing(self) -> None:
        # Kept: on Python 3.11, asyncio.get_running_loop() is a getpid() system call.
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()  # bound to this loop
        self._stopping = False
        self._flusher = asyncio.create_task(self._flush_loop(), name="vcall-store-flush")

    async def _stop_flushing(self) -> None:
        """Let queued writes commit, then end the flush task."""
        self._stopping = True
        if self._flusher is not None:
            self._wake.set()
            await self._flusher
            self._flusher = None

    async def _flush_loop(self) -> None:
        """Commit what was queued since the last commit, until closed."""
        while True:
            await self._wake.wait()
            await self._gather()
            self._wake.clear()
            events, self._events = self._take(self._events)
            rejects, self._rejects = self._take(self._rejects)
            answers, self._answers = self._answers, []
            if self._events or self._rejects:
                self._wake.set()  # more than one commit takes: the rest goes next
            if events or rejects or answers:
                try:
                    await self._commit(events, rejects, answers)
                except Exception as exc:
                    # A bug, not a store that failed (those settle their futures): its writes
                    # fail, and the task lives on, or every write after it would wait for ever.
                    logger.exception("event store: a commit failed")
                    self._fail([*events, *rejects], f"event store write failed: {exc}")
            if self._stopping and not (self._events or self._rejects or self._answers):
                return

    def _take(self, queue: Queue) -> tuple[Queue, Queue]:
        if self.max_commit is None:
            return queue, []
        return queue[: self.max_commit], queue[self.max_commit :]

    async def _gather(self) -> None:
        """Yield one loop pass at a time while the batch grows (see the module docstring)."""
        deadline = time.monotonic() + GATHER_FOR
        while not self._stopping:
            queued = self._queued()
            if queued >= MAX_BATCH:
                return
            await asyncio.sleep(0)
            if self._queued() == queued or time.monotonic() > deadline:
                return

    def _queued(self) -> int:
        return len(self._events) + len(self._rejects) + len(self._answers)

    @staticmethod
    def _settle(events: Queue, ids: Iterable[int | None], now: str) -> None:
        """Give each event's caller the event as stored (None: a repeat delivery)."""
        for (event, fut), new_id in zip(events, ids, strict=True):
            if fut.done():
                continue  # the caller gave up (cancelled) meanwhile
            if new_id is None:
                fut.set_result(None)
            else:
                # tuple.__new__: a named tuple's own constructor is a Python function (twice
                # the cost, once per event).
                fut.set_result(tuple.__new__(StoredEvent, (new_id, now, *event)))

    @staticmethod
    def _settle_rejects(rejects: Queue, ids: Sequence[int]) -> None:
        for (_row, fut), new_id in zip(rejects, ids, strict=True):
            if not fut.done():
                fut.set_result(new_id)

    @staticmethod
    def _fail(items: Iterable[tuple[Any, asyncio.Future[Any]]], message: str) -> None:
        error = StoreError(message)
        for _item, fut in items:
            if not fut.done():
                fut.set_exception(error)

    def _queue(self, queue: Queue, item: Any) -> asyncio.Future[Any]:
        loop = self._loop
        if loop is None or self._flusher is None or self._stopping:
            raise StoreError("event store is not open")
        fut: asyncio.Future[Any] = loop.create_future()
        queue.append((item, fut))
        self._wake.set()
        return fut

    def append(self, event: CallEvent) -> asyncio.Future[StoredEvent | None]:
        """Commit ``event`` with the next batch; the future gives it as stored, or None if
        that delivery is already stored.

        A plain function returning the future (not a coroutine): one frame less to create and
        to resume, on every webhook.
        """
        return self._queue(self._events, event)

    def reject(
        self, reason: str, method: str, path: str, content_type: str | None, body: bytes
    ) -> asyncio.Future[int]:
        """Commit a refused body with its reason; the future gives its id."""
        return self._queue(self._rejects, (reason, method, path, content_type, body))

    def record_answer(self, answer: AnswerRequest) -> None:
        """Keep ``answer`` with the next batch, without waiting for it (see the module
        docstring). Left out of the record while the store is closed or unavailable, or when
        :data:`MAX_ANSWERS` are already waiting."""
        if self._loop is None or self._flusher is None or self.health() is not None:
            return
        if len(self._answers) >= MAX_ANSWERS:
            self._answers_lost(1, "too many waiting for the store")
            return
        self._answers.append(answer)
        self._wake.set()

    def _answers_lost(self, count: int, why: str) -> None:
        """Say (once in a while, not per request) that answer requests were not kept."""
        if self._answers_dropped == 0:
            logger.warning("event store: answer requests not kept (%s)", why)
        self._answers_dropped += count

    def _answers_written(self) -> None:
        """Answer requests are being kept again: say how many were not."""
        if self._answers_dropped:
            logger.warning(
                "event store: keeping answer requests again (%d were not kept)",
                self._answers_dropped,
            )
            self._answers_dropped = 0

    # -- being told of commits ------------------------------------------------------------

    def watch(self, wake: Callable[[], None]) -> None:
        """Call ``wake()`` (on the loop) whenever events may have been committed, by this
        store or any other writing the same database: then read them with ``events``."""
        self._watchers.append(wake)

    def unwatch(self, wake: Callable[[], None]) -> None:
        """Stop calling ``wake``."""
        with contextlib.suppress(ValueError):
            self._watchers.remove(wake)

    def _wake_watchers(self) -> None:
        for wake in list(self._watchers):
            wake()

    def health(self) -> str | None:
        """None while the store can take writes; else what is wrong, in one line."""
        return None
