"""The live table, rendered to text: one row per leg with its latest status, calls grouped."""

from __future__ import annotations

import copy
import io

from rich.console import Console

from vcall.feed import FeedEvent
from vcall.tui import CallTable


def feed(events: list[dict]) -> list[FeedEvent]:
    return [FeedEvent(i, "2026-01-01T00:00:00.000Z", e) for i, e in enumerate(events, 1)]


def render(table: CallTable) -> tuple[str, dict[str, str]]:
    """The table as plain text, and the style each status word was drawn with."""
    console = Console(record=True, width=120, color_system="truecolor", file=io.StringIO())
    styles = {
        seg.text.strip(): str(seg.style)
        for seg in console.render(table.render())
        if seg.text.strip() in ("ringing", "started", "answered", "completed", "cancelled", "error")
    }
    console.print(table.render())
    return console.export_text(), styles


def rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if "→" in line and "from → to" not in line]


def test_each_leg_shows_its_latest_status(seed_json):
    table = CallTable()
    for item in feed(seed_json["events"][:5]):
        table.add(item)
    text, styles = render(table)
    inbound, app_leg = rows(text)
    assert "8f5a100c" in inbound and "inbound" in inbound and "answered" in inbound
    assert "441234567890 → 442038297050" in inbound
    assert "app user" in app_leg and "441234567890 → Alice" in app_leg and "answered" in app_leg
    assert "ringing" not in text and "started" not in text
    assert styles == {"answered": "green"}

    for item in feed(seed_json["events"])[5:]:
        table.add(item)
    text, styles = render(table)
    inbound, app_leg = rows(text)
    assert "completed" in inbound and "12 s" in inbound and "0.00144000" in inbound
    assert "completed" in app_leg and "5 s" in app_leg
    # the leading space the platform puts in the last event's 'from' is not shown
    assert "441234567890 → 442038297050" in inbound
    assert styles == {"completed": "dim"}
    assert "calls seen: 1" in text and "total cost: 0.00144" in text


def test_a_late_event_does_not_undo_a_newer_status(seed_json):
    events = seed_json["events"]
    table = CallTable()
    for item in feed([events[0], events[6], events[2]]):  # completed arrives before answered
        table.add(item)
    (inbound,) = rows(render(table)[0])
    assert "completed" in inbound and "answered" not in inbound


def test_calls_are_grouped_and_failures_red(seed_json):
    other = copy.deepcopy(seed_json["events"][3])
    other.update(conversation_uuid="CON-22222222-0000", uuid="leg-b", status="cancelled")
    table = CallTable()
    for item in feed([seed_json["events"][0], other, seed_json["events"][3]]):
        table.add(item)
    text, styles = render(table)
    first, second, third = rows(text)
    # both legs of the seed call together, although the other call's event came between
    assert "8f5a100c" in first and "inbound" in first and "app user" in second
    assert "22222222" in third and "cancelled" in third
    assert styles["cancelled"] == "red" and styles["ringing"] == "yellow"
    assert "calls seen: 2" in text


def test_only_the_newest_calls_are_shown_but_all_are_counted(seed_json):
    table = CallTable(shown_calls=2)
    for n in range(5):
        event = dict(seed_json["events"][6], conversation_uuid=f"CON-{n:08d}", uuid=f"u{n}")
        table.add(FeedEvent(n + 1, "t", event))
    text, _ = render(table)
    assert [r.split("│")[2].strip() for r in rows(text)] == ["00000003", "00000004"]
    assert "calls seen: 5" in text and "total cost: 0.0072" in text
    assert "showing the newest 2" in text


def test_a_vonage_error_report_is_a_red_row_with_its_reason():
    report = {
        "reason": "Invalid NCCO: unknown action",
        "conversation_uuid": "CON-abcdef12-0000",
        "timestamp": "2021-03-29T21:20:05.582Z",
    }
    table = CallTable()
    table.add(FeedEvent(1, "t", report))
    text, styles = render(table)
    (row,) = [line for line in text.splitlines() if "Invalid NCCO" in line]
    assert "abcdef12" in row and "error" in row and styles == {"error": "red"}


def test_connection_state_in_the_footer():
    table = CallTable()
    table.status, table.status_is_error = "vcall serve at http://x is unreachable", True
    assert "unreachable" in render(table)[0]
