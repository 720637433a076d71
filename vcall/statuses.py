"""Call statuses as the Voice API reports them: which end a leg, and the colour each is shown in
(the server log, ``vcall call``'s summary and ``vcall tail-events``' table)."""

from __future__ import annotations

#: Statuses that end a leg without a ``completed`` event (Vonage sends none after them).
TERMINAL = frozenset({"rejected", "timeout", "cancelled", "busy", "failed", "unanswered"})
#: The status vcall gives Vonage's error reports, which carry no uuid or status of their own.
ERROR = "error"
#: Statuses shown as a failure.
FAILED = TERMINAL | {ERROR}
_STYLE = {
    "ringing": "yellow",
    "started": "yellow",
    "answered": "green",
    "completed": "dim",
}


def status_style(status: str) -> str:
    """The colour for a call status."""
    return "red" if status in FAILED else _STYLE.get(status, "cyan")
