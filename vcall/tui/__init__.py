"""The terminal views of ``vcall tail-events``: a live table of calls, one row per leg."""

from vcall.tui.table import CallTable, LiveTable

__all__ = ["CallTable", "LiveTable"]
