"""The seed call: one real phone-to-app call as the platform delivered it, shipped with vcall."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
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


def load_seed() -> RecordedCall:
    """The seed call shipped in ``vcall/data/seed_call.json``."""
    text = resources.files("vcall").joinpath("data/seed_call.json").read_text()
    return RecordedCall.from_json(json.loads(text))
