"""A recorded call (an answer request and its events, as the platform delivered them), in the
format of the seed call fixture (``shared/fixtures/seed_call.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecordedCall:
    """An answer request and the events that followed, in delivery order."""

    answer_method: str
    answer_query: dict[str, str]
    events: list[dict[str, Any]]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordedCall:
        """Read the fixture format (``answer_request`` + ``events``)."""
        req = data["answer_request"]
        return cls(req.get("method", "GET"), dict(req.get("query", {})), list(data["events"]))

    def event_bodies(self) -> list[bytes]:
        """Each event as the JSON body to POST (compact, keys in recorded order)."""
        return [json.dumps(e, separators=(",", ":")).encode() for e in self.events]
