"""In-process fan-out of stored events to live listeners (event stream, page, tail)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from vcall.events import StoredEvent

#: A listener that falls this far behind is dropped rather than let memory grow; it can
#: catch up from the store by cursor.
MAX_BACKLOG = 10_000


class EventHub:
    """Publish each newly stored event to every current subscriber."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[StoredEvent | None]] = set()

    def publish(self, event: StoredEvent) -> None:
        """Hand ``event`` to every subscriber without waiting."""
        for q in list(self._queues):
            if q.qsize() >= MAX_BACKLOG:
                self._queues.discard(q)
                q.put_nowait(None)  # tells the subscriber it was dropped
            else:
                q.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[StoredEvent | None]]:
        """A queue of events published while the context is open (None: dropped)."""
        q: asyncio.Queue[StoredEvent | None] = asyncio.Queue()
        self._queues.add(q)
        try:
            yield q
        finally:
            self._queues.discard(q)
