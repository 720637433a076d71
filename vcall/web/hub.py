"""Fan-out of stored events to live listeners (event stream, page, tail), in store order.

The hub reads new events from the store, once for all its subscribers, and hands each to every
one, in store order, none skipped. It reads when the store says events may have been committed
(:meth:`~vcall.store.batching.GroupCommit.watch`): by this server's own webhooks, or, with a
shared store, by another vcall serve (PostgreSQL: a notification; SQLite: the file changed).
So a stream on one instance sees what every instance stores, and a webhook never waits for
the readers. The hub follows the store only while someone listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from vcall._errors import StoreError
from vcall.events import StoredEvent
from vcall.store import EventStore

logger = logging.getLogger("vcall.web")

#: A listener that falls this far behind is dropped rather than let memory grow; it can
#: catch up from the store by cursor.
MAX_BACKLOG = 10_000
#: Events read from the store at a time.
PAGE = 500

Subscription = asyncio.Queue[StoredEvent | None]


class EventHub:
    """Hand every event stored after a subscriber's cursor to it, in store order."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._queues: set[Subscription] = set()
        #: The newest event handed out; None while no one listens (the hub does not follow).
        self._head: int | None = None
        self._starting = asyncio.Lock()
        self._wake = asyncio.Event()
        self._follower: asyncio.Task[None] | None = None

    async def close(self) -> None:
        """Stop following the store; every subscriber is dropped."""
        self._stop_following()
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
            self._follower = None

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[tuple[int, Subscription]]:
        """``(cursor, queue)``: the queue gets every event stored after ``cursor``, in store
        order (and None if the subscriber is dropped: it may catch up and subscribe again)."""
        if self._head is None:
            async with self._starting:
                if self._head is None:
                    newest = await self._store.last_events(1)
                    self._head = newest[0].id if newest else 0
                    self._start_following()
        queue: Subscription = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield self._head, queue
        finally:
            self._queues.discard(queue)
            if not self._queues:
                self._stop_following()

    def _start_following(self) -> None:
        self._store.watch(self._wake.set)
        if self._follower is None or self._follower.done():
            self._follower = asyncio.create_task(self._follow(), name="vcall-hub")
        self._wake.set()  # anything stored since the head was read

    def _stop_following(self) -> None:
        self._store.unwatch(self._wake.set)
        self._head = None
        for queue in list(self._queues):
            queue.put_nowait(None)
        self._queues.clear()

    async def _follow(self) -> None:
        """Read what is new whenever woken, and hand it out."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._head is not None:
                try:
                    page = await self._store.events(after=self._head, limit=PAGE)
                except StoreError as exc:
                    # The subscribers catch up from the store themselves, or end if it fails.
                    logger.warning("event stream: cannot read new events: %s", exc)
                    self._stop_following()
                    break
                self._publish(page)
                if len(page) < PAGE:
                    break

    def _publish(self, events: list[StoredEvent]) -> None:
        """Hand ``events`` to every subscriber; the head moves past them."""
        head = self._head
        if head is None:  # the last subscriber left while the page was read
            return
        for event in events:
            if event.id <= head:  # a subscriber set the head past it meanwhile
                continue
            for queue in list(self._queues):
                if queue.qsize() >= MAX_BACKLOG:
                    self._queues.discard(queue)
                    queue.put_nowait(None)  # tells the subscriber it was dropped
                else:
                    queue.put_nowait(event)
            head = event.id
        self._head = head
