"""Calls as the page's inspector lists them: each call summed up from its stored events (caller,
outcome, duration, price), and pages of recent calls, newest first.

A page is found by walking back through the store from a cursor (:meth:`EventStore.recent`,
the events' primary key read backwards), judging each call met on the way once, at its newest
event, from its own events (:meth:`EventStore.calls_events`, the conversation index). So the
first page costs the same on a store of a million events as on an empty one, and no
aggregate over the whole store is ever made. A filtered page walks back at most
:data:`SCAN` events, then says where to go on from (``next``): a filter that matches no call
never reads the whole store in one request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from vcall.statuses import ERROR, TERMINAL

if TYPE_CHECKING:
    from vcall.events import StoredEvent
    from vcall.store import EventStore

#: Calls on a page when the client asks for no other number, and the most it may ask for.
PAGE_DEFAULT, PAGE_MAX = 25, 200
#: Most events one page walks back through (a filter that matches little stops there).
SCAN = 20_000
#: Events a call's summary is made from (its newest): real calls have a dozen at most.
PER_CALL = 200
#: Calls read from the store at a time while a page is judged.
_CHUNK = 100
#: The outcome of a call whose app leg was answered, and of one still going.
ANSWERED = "answered"
IN_PROGRESS = "in progress"
#: What the status filter offers: how calls end, and the calls still going.
OUTCOMES = (ANSWERED, "rejected", "busy", "timeout", "cancelled", "failed", "unanswered")
STATUSES = (*OUTCOMES, "completed", IN_PROGRESS)
_ENDED = TERMINAL | {"completed"}


@dataclass(frozen=True, slots=True)
class CallSummary:
    """One call as the list shows it."""

    conversation_uuid: str
    #: The caller's number (the inbound leg's ``from``) and the number called.
    caller: str | None
    called: str | None
    #: How the call went: its app leg answered, or how that leg ended (rejected, busy,
    #: timeout, cancelled, failed...); ``completed`` when the NCCO connected no one;
    #: ``ringing`` or ``in progress`` while it goes on.
    outcome: str
    ended: bool
    #: Billed seconds (the caller's leg), and the price of every leg added up.
    duration: str | None
    price: str | None
    #: The first and the newest event's time (the platform's timestamp, else the arrival).
    started_at: str
    updated_at: str
    legs: int
    events: int
    #: The newest event's cursor: the call's place in the list.
    newest: int

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON object for the call."""
        return asdict(self)


def summarise(conversation: str, events: Sequence[StoredEvent]) -> CallSummary:
    """Sum up one call from its events (in store order; at least one)."""
    legs: dict[str, list[StoredEvent]] = {}
    for event in events:
        if event.status != ERROR:  # an error report is filed under its call, not a leg
            legs.setdefault(event.uuid, []).append(event)
    directions = {
        u: next((e.direction for e in leg if e.direction), None) for u, leg in legs.items()
    }
    inbound = next((legs[u] for u, d in directions.items() if d == "inbound"), None)
    app_legs = [legs[u] for u, d in directions.items() if d == "outbound"]
    caller_leg = inbound or next(iter(legs.values()), events)
    ended = _ended(caller_leg) and all(_ended(leg) for leg in app_legs)
    return CallSummary(
        conversation_uuid=conversation,
        caller=next((e.from_ for e in caller_leg if e.from_), None),
        called=next((e.to for e in caller_leg if e.to), None),
        outcome=_outcome(caller_leg, app_legs, events, ended),
        ended=ended,
        duration=next((e.duration for e in reversed(caller_leg) if e.duration), None)
        or next((e.duration for leg in app_legs for e in leg if e.duration), None),
        price=_total(e.price for e in events),
        started_at=_when(events[0]),
        updated_at=_when(events[-1]),
        legs=len(legs),
        events=len(events),
        newest=events[-1].id,
    )


def _ended(leg: Sequence[StoredEvent]) -> bool:
    return any(e.status in _ENDED for e in leg)


def _outcome(
    caller: Sequence[StoredEvent],
    app_legs: Sequence[Sequence[StoredEvent]],
    events: Sequence[StoredEvent],
    ended: bool,
) -> str:
    if app_legs:
        leg = app_legs[-1]
        statuses = [e.status for e in leg]
        if ANSWERED in statuses:
            return ANSWERED
        final = next((s for s in reversed(statuses) if s in TERMINAL), None)
        if final:
            return final
        return "ringing" if not ended else "completed"
    if any(e.status == ERROR for e in events):
        return "failed"
    final = next((e.status for e in reversed(caller) if e.status in TERMINAL), None)
    if final:
        return final
    return "completed" if ended else IN_PROGRESS


def _total(prices: Any) -> str | None:
    total, seen = Decimal(0), False
    for price in prices:
        if price is None:
            continue
        try:
            total += Decimal(price)
        except InvalidOperation:
            continue  # a price that is not a number is left out of the sum
        seen = True
    return format(total, "f") if seen else None


def _when(event: StoredEvent) -> str:
    return event.timestamp or event.received_at


def _digits(number: str | None) -> str:
    """A number as the filter compares it: no spaces, no leading ``+``."""
    return "".join((number or "").split()).lstrip("+")


@dataclass(frozen=True, slots=True)
class CallFilter:
    """What the list is narrowed to: an outcome (or ``in progress``), a number on any leg."""

    status: str | None = None
    number: str | None = None

    @property
    def narrows(self) -> bool:
        """Whether any filter is set."""
        return bool(self.status or self.number)

    def matches(self, call: CallSummary, events: Sequence[StoredEvent]) -> bool:
        """Whether ``call`` (made from ``events``) is one the filter keeps."""
        if self.status == IN_PROGRESS and call.ended:
            return False
        if self.status and self.status != IN_PROGRESS and call.outcome != self.status:
            return False
        if self.number:
            wanted = _digits(self.number)
            return any(wanted in (_digits(e.from_), _digits(e.to)) for e in events)
        return True


@dataclass(frozen=True, slots=True)
class CallsPage:
    """A page of calls, newest first, and the cursor to go on from (None: the store's start
    was reached)."""

    calls: list[CallSummary]
    next: int | None
    #: Events walked back through for this page.
    scanned: int


async def recent_calls(
    store: EventStore,
    *,
    before: int | None = None,
    limit: int = PAGE_DEFAULT,
    wanted: CallFilter | None = None,
    scan: int = SCAN,
) -> CallsPage:
    """The calls whose newest event is below cursor ``before``, newest first, as many as
    ``limit`` that ``wanted`` keeps, looking through ``scan`` events at most (see the module
    docstring)."""
    wanted = wanted or CallFilter()
    calls: list[CallSummary] = []
    judged: set[str] = set()
    cursor, scanned, window = before, 0, min(limit * 8, 1000)
    while scanned < scan:
        window = min(window, scan - scanned)
        rows = await store.recent(before=cursor, limit=window)
        scanned += len(rows)
        met = list(dict.fromkeys(c for _id, c in rows if c and c not in judged))
        for start in range(0, len(met), _CHUNK):
            chunk = met[start : start + _CHUNK]
            by_call: dict[str, list[StoredEvent]] = {c: [] for c in chunk}
            for event in await store.calls_events(chunk, newest=PER_CALL):
                by_call[event.conversation_uuid or ""].append(event)
            for conversation in chunk:
                judged.add(conversation)
                events = by_call[conversation]
                if not events or (before is not None and events[-1].id >= before):
                    continue  # judged on an earlier page, where its newest event is
                call = summarise(conversation, events)
                if wanted.matches(call, events):
                    calls.append(call)
                    if len(calls) == limit:
                        return CallsPage(calls, call.newest, scanned)
        if len(rows) < window:
            return CallsPage(calls, None, scanned)
        cursor = rows[-1][0]
        window = min(window * 2, 5000)
    return CallsPage(calls, cursor, scanned)


async def find_call(store: EventStore, term: str) -> CallSummary | None:
    """The call with conversation id ``term``, or with a leg of that id; None if neither."""
    term = term.strip()
    if not term:
        return None
    events = await store.calls_events([term], newest=PER_CALL)
    conversation: str | None = term
    if not events:
        conversation = await store.leg_conversation(term)
        if conversation is None:
            return None
        events = await store.calls_events([conversation], newest=PER_CALL)
    return summarise(conversation, events) if events and conversation else None
