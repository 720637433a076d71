"""The event store's contract: what ``vcall serve`` relies on, whatever the store is."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from vcall.answer_requests import AnswerRequest, StoredAnswer
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

    def record_answer(self, answer: AnswerRequest) -> None:
        """Keep an answer request with the next batch; returns at once (no one waits for it,
        and one the store cannot keep is left out of the record)."""

    async def answers(self, conversation: str, *, since: str, until: str) -> list[StoredAnswer]:
        """The answer requests of one call that arrived between ``since`` and ``until`` (ISO
        times: :func:`vcall.answer_requests.around` gives them for a call's events), in the
        order they were kept."""

    async def recent(
        self, *, before: int | None = None, limit: int = 1000
    ) -> list[tuple[int, str | None]]:
        """``(id, conversation_uuid)`` of the newest ``limit`` events below cursor ``before``
        (None: of all), newest first: the calls inspector's walk back through the store."""

    async def calls_events(
        self, conversations: Sequence[str], *, newest: int = 1000
    ) -> list[StoredEvent]:
        """The newest ``newest`` events of each of these conversations, in store order."""

    async def leg_conversation(self, uuid: str) -> str | None:
        """The conversation of leg ``uuid``, or None if no event has it."""

    def health(self) -> str | None:
        """None while the store can take writes; else what is wrong, in one line."""
