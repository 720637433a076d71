"""A recorded call (an answer request and its events, as the platform delivered them), in the
format of the seed call fixture (``tests/fixtures/seed_call.json``), and how to send it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vcall.delivery import Delivery, Webhook
from vcall.replay import ANSWER_PATH, EVENT_PATH, deliver
from vcall.signing import Signer

#: The window of arrival times of ``EventStore.answers`` that holds every answer request.
EVER = {"since": "", "until": "~"}


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

    def webhooks(self) -> list[Webhook]:
        """The call as webhooks: its answer request, then each event."""
        if self.answer_method.upper() == "GET":
            answer = Webhook("GET", ANSWER_PATH, query=self.answer_query, label="answer")
        else:
            answer = Webhook("POST", ANSWER_PATH, body=json.dumps(self.answer_query).encode())
        events = [Webhook("POST", EVENT_PATH, body=body) for body in self.event_bodies()]
        return [answer, *events]


async def send_call(
    base_url: str, call: RecordedCall, *, signer: Signer | None = None
) -> list[Delivery]:
    """Send each webhook of ``call`` to ``base_url`` in order; returns every response."""
    return [d async for d in deliver(base_url, call.webhooks(), signer=signer)]
