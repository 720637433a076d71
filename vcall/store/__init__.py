"""Durable event storage.

``EventStore`` is the contract the web layer relies on: an event is acknowledged only after
``append`` returns, and ``append`` returns only after the event is committed. SQLite is the
default (:class:`~vcall.store.sqlite.SqliteStore`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from vcall.events import CallEvent, StoredEvent

__all__ = [
    "DEFAULT_DURABILITY",
    "DURABILITY",
    "EventStore",
    "Rejected",
    "open_store",
]

#: What an acknowledged event survives, by ``--durability`` level.
DURABILITY = {
    "normal": "a crash or kill -9 of vcall serve (committed to the OS before the 2xx); "
    "an OS crash or power cut may lose the last events acknowledged",
    "full": "also an OS crash or power cut (each batch is fsynced before its 2xx)",
}
#: Crash-safe without paying an fsync per commit.
DEFAULT_DURABILITY = "normal"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A request body the event webhook refused, kept with the reason."""

    id: int
    received_at: str
    reason: str
    method: str
    path: str
    content_type: str | None
    body: bytes


class EventStore(Protocol):
    """What ``vcall serve`` needs from a store."""

    async def open(self) -> None:
        """Create the schema if needed and start serving calls."""

    async def close(self) -> None:
        """Finish pending writes and release the database."""

    def append(self, event: CallEvent) -> Awaitable[StoredEvent | None]:
        """Commit ``event``: awaited, it is the event as stored once committed, or None if the
        same delivery (uuid, status, timestamp) is stored."""

    def reject(
        self, reason: str, method: str, path: str, content_type: str | None, body: bytes
    ) -> Awaitable[int]:
        """Commit a refused request body with the reason: awaited, its id once committed."""

    async def events(
        self, *, after: int = 0, limit: int = 100, conversation: str | None = None
    ) -> list[StoredEvent]:
        """Events with ``id > after`` in store order."""

    async def last_events(self, n: int, *, conversation: str | None = None) -> list[StoredEvent]:
        """The newest ``n`` events, oldest first."""

    async def events_by_id(self, ids: Iterable[int]) -> list[StoredEvent]:
        """The events with these cursors (unknown ones are left out), in store order."""

    async def count(self) -> int:
        """How many events are stored."""

    async def rejected(self, *, limit: int = 100) -> list[Rejected]:
        """The newest refused bodies, newest first."""


def open_store(path: str | Path, durability: str = DEFAULT_DURABILITY) -> EventStore:
    """The store for ``path`` (a SQLite file). Call ``await store.open()`` before use.

    ``durability`` is a key of :data:`DURABILITY`.
    """
    # Imported when a store is opened: `vcall --help` imports this package for the serve
    # command's options, and the driver would weigh on it (bench/startup.py).
    from vcall.store.sqlite import SqliteStore

    return SqliteStore(Path(path), durability)
