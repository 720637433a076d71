"""A simulated call as asked for (``vcall call``, ``POST /sandbox/calls``).

Kept free of heavy imports: the CLI reads :class:`Outcome` while building its options.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from vcall._errors import InvalidInput

#: The seed call's caller.
DEFAULT_CALLER = "441234567890"
#: Vonage's longest connected leg (``connect``'s ``limit``): 2 h. No timing may exceed it.
CONNECT_LIMIT = 7200.0
#: The request's timings, in seconds (0 to :data:`CONNECT_LIMIT`); see :class:`CallRequest`.
TIMES = ("talk_for", "answer_after", "hold", "ring_timeout", "cancel_after")


class Outcome(StrEnum):
    """How the app leg ends; what a stand-in user plays."""

    answered = "answered"
    rejected = "rejected"
    timeout = "timeout"
    cancelled = "cancelled"
    busy = "busy"
    failed = "failed"


@dataclass(frozen=True)
class CallRequest:
    """A simulated phone call, like ``stripe trigger``: who calls, and how it should go.

    With ``outcome`` None the call rings the user's open pages and a person decides;
    otherwise a headless stand-in plays ``outcome``. Times are in seconds.
    """

    from_: str = DEFAULT_CALLER
    to: str | None = None  # None: the number `vcall setup` linked
    outcome: Outcome | None = None
    talk_for: float | None = None  # each talk action; None: in proportion to its text
    answer_after: float = 2.0  # stand-in: ringing before it acts
    hold: float | None = None  # answered call's length (stand-in; caller when a page answers)
    ring_timeout: float | None = None  # None: the connect action's timeout (default 60)
    cancel_after: float | None = None  # caller hangs up if nobody answered by then

    @classmethod
    def from_json(cls, data: Any) -> CallRequest:
        """Validate ``POST /sandbox/calls`` input; raises InvalidInput with the reason."""
        if not isinstance(data, dict):
            raise InvalidInput("the call must be a JSON object")
        unknown = set(data) - {f.replace("from_", "from") for f in cls.__dataclass_fields__}
        if unknown:
            raise InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}")
        caller = data.get("from", DEFAULT_CALLER)
        if not isinstance(caller, str) or not caller.strip():
            raise InvalidInput("'from' must be a non-empty string")
        to = data.get("to")
        if to is not None:
            # Imported when a request names a number: `vcall --help` imports this module for
            # the call command's options, and phonenumbers would weigh on it (bench/startup.py).
            from vcall.phone import normalise

            to = normalise(str(to))
        outcome = data.get("outcome")
        if outcome is not None and outcome not in Outcome.__members__:
            raise InvalidInput(f"'outcome' must be one of {', '.join(Outcome)}")
        times = {}
        for name in TIMES:
            value = data.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InvalidInput(f"'{name}' must be a number of seconds ≥ 0")
            if value > CONNECT_LIMIT:
                raise InvalidInput(f"'{name}' must be at most {CONNECT_LIMIT:.0f} seconds")
            times[name] = float(value)
        return cls(
            from_=caller.strip(),
            to=to,
            outcome=Outcome(outcome) if outcome is not None else None,
            **times,
        )
