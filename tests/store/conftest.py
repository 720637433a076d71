"""The event-store contract runs against both stores: a SQLite file and a PostgreSQL database
(a new one on the suite's real server, tests/pg_cluster.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from vcall.store import EventStore, open_store

#: What ``--store`` takes: a SQLite file, or a PostgreSQL URL.
Location = Path | str


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Location:
    """Where a store lives: one test runs once per kind of store."""
    if request.param == "sqlite":
        return tmp_path / "events.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def opened() -> AsyncIterator[Callable[..., Awaitable[EventStore]]]:
    """``await opened(location)``: an open store there, closed after the test (each call is
    another instance, as another vcall serve would be)."""
    stores: list[EventStore] = []

    async def opener(where: Location, durability: str = "normal") -> EventStore:
        store = open_store(where, durability)
        await store.open()
        stores.append(store)
        return store

    yield opener
    for store in reversed(stores):
        await store.close()


@pytest.fixture
async def store(location: Location, opened: Callable[..., Awaitable[EventStore]]) -> EventStore:
    """An open store of each kind."""
    return await opened(location)
