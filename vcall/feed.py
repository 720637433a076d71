"""The event feed: one JSON shape for every reader.

``vcall serve`` sends each stored event as ``{"id": cursor, "received_at": …, "event": {…}}``
(``GET /api/events`` pages, ``GET /api/events/stream`` Server-Sent Events, ``tail-events
--json`` lines); :mod:`vcall.remote.follow` reads the stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vcall._errors import InvalidInput

if TYPE_CHECKING:
    from vcall.events import StoredEvent

STREAM_PATH = "/api/events/stream"
#: The SSE event that ends the backlog; its ``id`` is the cursor to resume from.
READY = "ready"


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One stored event as the feed carries it: its cursor, arrival time and body."""

    id: int
    received_at: str
    event: dict[str, Any]

    @classmethod
    def from_stored(cls, stored: StoredEvent) -> FeedEvent:
        """The feed form of a stored event (the raw body, decoded)."""
        return cls(stored.id, stored.received_at, json.loads(stored.raw))

    @classmethod
    def from_json(cls, data: Any) -> FeedEvent:
        """Read the feed's JSON object (as sent by :meth:`to_json`)."""
        try:
            return cls(int(data["id"]), str(data["received_at"]), dict(data["event"]))
        except (TypeError, KeyError, ValueError) as exc:
            raise InvalidInput(f"not a feed event: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The feed's JSON object."""
        return {"id": self.id, "received_at": self.received_at, "event": self.event}

    def to_json(self) -> str:
        """One compact line of JSON (no newlines, so it suits NDJSON and SSE)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)
