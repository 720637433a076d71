"""The event store's contract: what ``vcall serve`` relies on, whatever the store is."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from vcall.events import CallEvent, StoredEvent

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
