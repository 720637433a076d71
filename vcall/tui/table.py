"""A table of calls that a person reads at a glance, updated in place as events arrive.

One row per leg (the caller's inbound leg, the app user's leg), legs grouped by call, the
status coloured like the server log (:func:`vcall.statuses.status_style`), and a footer with
the calls seen, their total cost and the connection state.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from vcall.events import InvalidEvent, event_from_mapping
from vcall.feed import FeedEvent
from vcall.statuses import status_style

#: Calls kept on screen; older ones scroll off (they still count in the footer).
SHOWN_CALLS = 20


@dataclass
class LegRow:
    """What is known of one leg: its latest status and the details events carried."""

    uuid: str
    direction: str
    from_: str
    to: str
    first_seen: str
    #: Shown instead of from → to when there is none (Vonage's error reports: the reason).
    note: str = ""
    status: str = ""
    status_at: str = ""
    duration: str = ""
    price: str = ""

    @property
    def kind(self) -> str:
        """``inbound``, ``app user`` (an outbound leg to a user name) or ``outbound``."""
        if self.direction == "inbound":
            return "inbound"
        if self.direction == "outbound":
            return "outbound" if self.to.lstrip("+").isdigit() else "app user"
        return self.direction or "-"


def _clock(timestamp: str) -> str:
    """``2021-03-29T21:20:05.582Z`` → ``21:20:05`` (left as is when it is not ISO)."""
    _, sep, rest = timestamp.partition("T")
    return rest[:8] if sep and len(rest) >= 8 else timestamp


class CallTable:
    """Legs by call, from feed events in any order; renders with :meth:`render`."""

    def __init__(self, shown_calls: int = SHOWN_CALLS) -> None:
        self.shown_calls = shown_calls
        #: conversation → (leg uuid → leg), both in first-seen order.
        self.calls: dict[str, dict[str, LegRow]] = {}
        #: The connection line in the footer (None: nothing to say).
        self.status: str | None = None
        self.status_is_error = False

    def add(self, item: FeedEvent) -> None:
        """Fold one event into its leg's row."""
        try:
            # The webhook's own normalisation: stripped fields, error reports as 'error'.
            event = event_from_mapping(item.event, b"")
        except InvalidEvent:
            return  # stored before a stricter check: nothing a row could show
        conversation = event.conversation_uuid or event.uuid
        when = event.timestamp or item.received_at
        legs = self.calls.setdefault(conversation, {})
        leg = legs.get(event.uuid)
        if leg is None:
            reason = item.event.get("reason")
            leg = legs[event.uuid] = LegRow(
                event.uuid,
                event.direction or "",
                event.from_ or "",
                event.to or "",
                when,
                note=str(reason) if reason and not (event.from_ or event.to) else "",
            )
        # Delivery order is not guaranteed: a late 'answered' must not undo 'completed'.
        if when >= leg.status_at:
            leg.status, leg.status_at = event.status, when
        leg.duration = event.duration or leg.duration
        leg.price = event.price or leg.price

    @property
    def total_cost(self) -> Decimal:
        """The sum of every leg's price."""
        total = Decimal(0)
        for legs in self.calls.values():
            for leg in legs.values():
                try:
                    total += Decimal(leg.price or 0)
                except InvalidOperation:
                    continue  # a price that is not a number is shown, not summed
        return total

    def render(self) -> RenderableType:
        """The table of the newest calls and the footer, as a fresh renderable."""
        table = Table(expand=False, header_style="bold", pad_edge=False)
        for name in ("time", "call", "leg", "from → to", "status"):
            table.add_column(name, no_wrap=True)
        for name in ("duration", "price"):
            table.add_column(name, justify="right", no_wrap=True)
        shown = list(self.calls.items())[-self.shown_calls :]
        for conversation, legs in shown:
            short = conversation.removeprefix("CON-")[:8]
            for i, leg in enumerate(legs.values()):
                table.add_row(
                    _clock(leg.first_seen),
                    short if i == 0 else "",
                    leg.kind,
                    leg.note or f"{leg.from_ or '?'} → {leg.to or '?'}",
                    Text(leg.status, style=status_style(leg.status)),
                    f"{leg.duration} s" if leg.duration else "",
                    leg.price,
                    end_section=i == len(legs) - 1,
                )
        cost = format(self.total_cost.normalize(), "f")
        footer = Text(f"calls seen: {len(self.calls)}  ·  total cost: {cost}")
        if len(self.calls) > len(shown):
            footer.append(f"  ·  showing the newest {len(shown)}", style="dim")
        parts: list[RenderableType] = [table, footer]
        if self.status:
            parts.append(Text(self.status, style="red" if self.status_is_error else "dim"))
        return Group(*parts)


class LiveTable:
    """A :class:`CallTable` kept on screen with Rich ``Live``, redrawn as events arrive.

    Each change hands ``Live`` a freshly built renderable, so its refresh thread never
    reads the table while it is being changed.
    """

    def __init__(self, console: Console | None = None, table: CallTable | None = None) -> None:
        self.table = table or CallTable()
        self._live = Live(
            self.table.render(), console=console, refresh_per_second=20, transient=False
        )

    def __enter__(self) -> LiveTable:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._live.__exit__(*exc)

    def add(self, item: FeedEvent) -> None:
        """Show one more event."""
        self.table.add(item)
        self._live.update(self.table.render())

    def status(self, message: str | None, url: str) -> None:
        """The connection state: a problem to show in red, or None once connected."""
        self.table.status = message or f"following {url}  (Ctrl-C to stop)"
        self.table.status_is_error = message is not None
        self._live.update(self.table.render())
