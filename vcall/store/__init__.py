"""Durable event storage.

``EventStore`` is the contract the web layer relies on: an event is acknowledged only after
``append`` returns, and ``append`` returns only after the event is committed. SQLite is the
default (:class:`~vcall.store.sqlite.SqliteStore`).
"""

from __future__ import annotations

from pathlib import Path

from vcall.store.contract import DEFAULT_DURABILITY, DURABILITY, EventStore, Rejected

__all__ = [
    "DEFAULT_DURABILITY",
    "DURABILITY",
    "EventStore",
    "Rejected",
    "open_store",
]


def open_store(path: str | Path, durability: str = DEFAULT_DURABILITY) -> EventStore:
    """The store for ``path`` (a SQLite file). Call ``await store.open()`` before use.

    ``durability`` is a key of :data:`DURABILITY`.
    """
    # Imported when a store is opened: `vcall --help` imports this package for the serve
    # command's options, and the driver would weigh on it (bench/startup.py).
    from vcall.store.sqlite import SqliteStore

    return SqliteStore(Path(path), durability)
