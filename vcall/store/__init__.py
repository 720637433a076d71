"""Durable event storage.

``EventStore`` is the contract the web layer relies on: an event is acknowledged only after
``append`` returns, and ``append`` returns only after the event is committed. SQLite is the
default (:class:`~vcall.store.sqlite.SqliteStore`); a ``postgresql://`` URL names a PostgreSQL
database that several vcall serve instances share (:class:`~vcall.store.postgres.PostgresStore`).
"""

from __future__ import annotations

from pathlib import Path

from vcall.store.contract import DEFAULT_DURABILITY, DURABILITY, EventStore, Rejected
from vcall.store.location import is_postgres, shown

__all__ = [
    "DEFAULT_DURABILITY",
    "DURABILITY",
    "EventStore",
    "Rejected",
    "is_postgres",
    "open_store",
    "shown",
]


def open_store(location: str | Path, durability: str = DEFAULT_DURABILITY) -> EventStore:
    """The store at ``location``: a ``postgresql://`` URL, else a SQLite file. Call
    ``await store.open()`` before use.

    ``durability`` is a key of :data:`DURABILITY`.
    """
    # Imported when a store is opened: `vcall --help` imports this package for the serve
    # command's options, and the drivers would weigh on it (bench/startup.py).
    if is_postgres(location):
        from vcall.store.postgres import PostgresStore

        return PostgresStore(str(location), durability)
    from vcall.store.sqlite import SqliteStore

    return SqliteStore(Path(location), durability)
