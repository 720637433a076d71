"""Event bodies as the Voice API sends them, field for field like the seed call.

Each builder returns a dict whose keys, key order and value types match the seed fixture
(``tests/fixtures/seed_call.json``) for that status and direction: the simulated platform must
be indistinguishable from the real one to the code that receives its webhooks.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from vcall.events import utc_now

#: What an inbound PSTN leg costs per minute, and the network the seed call reports.
INBOUND_RATE = "0.00720000"
INBOUND_NETWORK = "GB-FIXED"
#: In-app legs are free.
APP_RATE = "0.00"
APP_PRICE = "0"


@dataclass
class Leg:
    """One leg of a call and the clock readings its events report."""

    uuid: str
    conversation_uuid: str
    direction: str  # "inbound" (the caller) or "outbound" (the leg to the app user)
    from_: str
    to: str
    answered_at: float | None = None  # wall-clock seconds
    ended_at: float | None = None
    status: str = "started"

    @property
    def inbound(self) -> bool:
        return self.direction == "inbound"

    @property
    def duration(self) -> int:
        """Billed seconds: started seconds are rounded up, as the seed's legs show."""
        if self.answered_at is None or self.ended_at is None:
            return 0
        return math.ceil(self.ended_at - self.answered_at)

    def _ids(self, status: str) -> dict[str, Any]:
        return {
            "from": self.from_,
            "to": self.to,
            "uuid": self.uuid,
            "conversation_uuid": self.conversation_uuid,
            "status": status,
            "direction": self.direction,
            "timestamp": utc_now(),
        }

    def progress(self, status: str) -> dict[str, Any]:
        """``ringing``/``started`` (and the terminal statuses): the call's identifiers.

        The inbound leg's carry SIP ``headers``; the app leg's do not (seed events 1, 2, 4).
        """
        self.status = status
        body = self._ids(status)
        return {"headers": {}, **body} if self.inbound else body

    def answered(self) -> dict[str, Any]:
        """``answered``: the identifiers plus null ``start_time``, ``rate`` and ``network``."""
        self.status = "answered"
        self.answered_at = time.time()
        return {
            "start_time": None,
            "headers": {},
            "rate": None,
            "from": self.from_,
            "to": self.to,
            "uuid": self.uuid,
            "conversation_uuid": self.conversation_uuid,
            "status": "answered",
            "direction": self.direction,
            "network": None,
            "timestamp": utc_now(),
        }

    def completed(self) -> dict[str, Any]:
        """``completed``: times, duration, rate and price (all strings, as Vonage sends them)."""
        self.status = "completed"
        self.ended_at = time.time()
        start = math.floor(self.answered_at if self.answered_at is not None else self.ended_at)
        seconds = self.duration
        if self.inbound:
            rate, network = INBOUND_RATE, INBOUND_NETWORK
            price = _price(seconds, INBOUND_RATE)
            # The platform's last event carries a leading space in 'from' (seed event 7).
            caller = " " + self.from_
        else:
            rate, price, network, caller = APP_RATE, APP_PRICE, None, self.from_
        return {
            "headers": {},
            "end_time": _second(start + seconds),
            "uuid": self.uuid,
            "network": network,
            "duration": str(seconds),
            "start_time": _second(start),
            "rate": rate,
            "price": price,
            "from": caller,
            "to": self.to,
            "conversation_uuid": self.conversation_uuid,
            "status": "completed",
            "direction": self.direction,
            "timestamp": utc_now(),
        }


def error_event(conversation_uuid: str, reason: str) -> dict[str, Any]:
    """An error report (bad NCCO, unreachable answer URL), shaped like Vonage's."""
    return {"reason": reason, "conversation_uuid": conversation_uuid, "timestamp": utc_now()}


def _price(seconds: int, rate: str) -> str:
    """``seconds × per-minute rate / 60`` as an 8-decimal string (12 s → ``0.00144000``, 0 s →
    ``0.00000000``, never ``0E-8``)."""
    value = Decimal(seconds) * Decimal(rate) / 60
    return format(value.quantize(Decimal("0.00000001"), rounding=ROUND_HALF_UP), "f")


def _second(epoch: int) -> str:
    """Whole-second ISO-8601 with ``.000Z``, like the seed's ``start_time``/``end_time``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
