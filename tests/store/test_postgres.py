"""What only the PostgreSQL store does: readers wait below the horizon, commits wake other
instances, the schema is vcall's own and versioned, connection settings come from the URL and
the PG* variables with the password kept out of every message, and a restarted server is
found again by itself."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from pg_cluster import PASSWORD, USER, PgCluster
from polling import until

from vcall._errors import StoreError
from vcall.events import parse_event
from vcall.store import EventStore, open_store, shown
from vcall.store import pg_schema as sql
from vcall.store.postgres import PostgresStore

Opener = Callable[..., Awaitable[EventStore]]
DEADLINE = 10.0


def body(n: int) -> bytes:
    return json.dumps(
        {"uuid": f"leg-{n}", "status": "started", "timestamp": f"2026-01-01T00:00:{n:02d}Z"}
    ).encode()


async def test_readers_wait_for_an_older_transaction_still_storing(
    pg_url: str, opened: Opener
) -> None:
    """Another instance's batch took its id first but commits last: a reader must not pass
    over it. It sees neither event until the older one has committed, then both, in order."""
    store = await opened(pg_url)
    other = await asyncpg.connect(pg_url)
    try:
        slow = other.transaction()
        await slow.start()
        older = parse_event(body(1))
        await other.fetch(sql.INSERT_EVENTS, "t", *([v] for v in older))
        newer = await store.append(parse_event(body(2)))
        assert newer is not None
        assert await store.events() == [] and await store.last_events(5) == []
        await slow.commit()
        assert [(e.raw, e.id < newer.id) for e in await store.events()] == [
            (body(1), True),
            (body(2), False),
        ]
    finally:
        await other.close()


async def test_a_reader_held_back_by_a_transaction_that_never_notifies_looks_again(
    pg_url: str, opened: Opener
) -> None:
    """A transaction outside vcall holds the horizon, then rolls back: no notification comes,
    so the store wakes its watchers again by itself until the event can be read. The watcher
    reads on every wake, as the stream's hub does."""
    store = await opened(pg_url)
    seen: list[bytes] = []
    reads: list[asyncio.Task[None]] = []

    async def read() -> None:
        seen.extend(e.raw for e in await store.events(after=0) if e.raw not in seen)

    store.watch(lambda: reads.append(asyncio.create_task(read())))
    other = await asyncpg.connect(pg_url)
    try:
        holding = other.transaction()
        await holding.start()
        await other.fetchval("SELECT pg_current_xact_id()")  # takes a transaction id
        assert await store.append(parse_event(body(1))) is not None
        await until(lambda: len(reads) >= 3, "wakes while held back")
        assert seen == []
        await holding.rollback()
        await until(lambda: seen == [body(1)], "the event read once the rollback freed it")
    finally:
        await other.close()
        await asyncio.gather(*reads)


async def test_a_commit_on_one_instance_wakes_the_watchers_of_another(
    pg_url: str, opened: Opener
) -> None:
    a, b = await opened(pg_url), await opened(pg_url)
    woken = asyncio.Event()
    b.watch(woken.set)
    stored = await a.append(parse_event(body(1)))
    await asyncio.wait_for(woken.wait(), DEADLINE)
    assert await b.events() == [stored]


async def test_the_schema_is_versioned_and_made_once(pg_url: str, opened: Opener) -> None:
    first, second = await asyncio.gather(opened(pg_url), opened(pg_url))  # instances racing
    assert await first.append(parse_event(body(1))) is not None
    conn = await asyncpg.connect(pg_url)
    try:
        versions = [r[0] for r in await conn.fetch("SELECT version FROM vcall_migrations")]
        assert versions == list(range(1, len(sql.MIGRATIONS) + 1))
        tables = {
            r[0]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        }
        assert tables == {"events", "rejected", "answers", "vcall_migrations"}
    finally:
        await conn.close()
    assert await second.count() == 1


async def test_a_schema_from_a_newer_vcall_is_refused(pg_url: str, opened: Opener) -> None:
    await opened(pg_url)
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("INSERT INTO vcall_migrations (version) VALUES (99)")
    finally:
        await conn.close()
    with pytest.raises(StoreError, match=r"made by a newer vcall \(schema version 99"):
        await opened(pg_url)


async def test_tables_vcall_did_not_make_are_left_alone(pg_url: str, opened: Opener) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("CREATE TABLE events (what text)")
    finally:
        await conn.close()
    with pytest.raises(StoreError, match=r"tables vcall did not make \(events\)"):
        await opened(pg_url)


async def test_the_connection_comes_from_the_pg_variables(
    postgres: PgCluster, pg_url: str, opened: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = pg_url.rsplit("/", 1)[1]
    for name, value in {
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres.port),
        "PGUSER": USER,
        "PGPASSWORD": PASSWORD,
        "PGDATABASE": database,
    }.items():
        monkeypatch.setenv(name, value)
    store = await opened("postgresql://")
    assert await store.append(parse_event(body(1))) is not None
    assert [e.raw for e in await (await opened(pg_url)).events()] == [body(1)]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda url: url.replace(PASSWORD, "not-the-password"), "password authentication failed"),
        (lambda url: url.rsplit("/", 1)[0] + "/nothere", 'database "nothere" does not exist'),
    ],
)
async def test_a_wrong_url_is_one_line_without_the_password(
    pg_url: str, change: Callable[[str], str], reason: str
) -> None:
    url = change(pg_url)
    with pytest.raises(StoreError) as caught:
        await open_store(url).open()
    message = str(caught.value)
    assert message.startswith(f"cannot open event store {shown(url)}: ")
    assert reason in message and "\n" not in message
    assert PASSWORD not in message and "not-the-password" not in message


async def test_an_unreachable_server_is_one_line_at_once() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = unused.getsockname()[1]
        url = f"postgresql://vcall:{PASSWORD}@127.0.0.1:{port}/events"
        started = time.monotonic()
        with pytest.raises(StoreError) as caught:
            await open_store(url).open()
    assert time.monotonic() - started < DEADLINE
    message = str(caught.value)
    assert message.startswith(f"cannot open event store postgresql://vcall@127.0.0.1:{port}/")
    assert "\n" not in message and PASSWORD not in message


def test_the_url_shown_has_no_password() -> None:
    assert shown("postgresql://u:p%40ss@db.example:5433/ev?sslmode=require") == (
        "postgresql://u@db.example:5433/ev?sslmode=require"
    )
    assert shown("postgresql://db.example/ev") == "postgresql://db.example/ev"
    assert shown("postgresql://:secret@db/ev") == "postgresql://db/ev"


async def test_a_restarted_server_is_found_again_and_nothing_acknowledged_is_lost(
    own_postgres: PgCluster, opened: Opener, caplog: pytest.LogCaptureFixture
) -> None:
    """``pg_ctl restart -m fast`` under steady writes: during the outage writes fail at once
    (never hang), the store says it is degraded, then reconnects by itself."""
    caplog.set_level(logging.DEBUG)
    url = own_postgres.create_database("restarted")
    store = await opened(url)
    assert isinstance(store, PostgresStore)
    acknowledged: list[bytes] = []
    failed, slowest, degraded = 0, 0.0, []
    restarted = threading.Event()

    def restart() -> None:
        own_postgres.restart("fast")
        restarted.set()

    n = 0
    restarter = threading.Thread(target=restart)
    async with asyncio.timeout(60):
        while not restarted.is_set() or store.health() is not None or n < 50:
            n += 1
            if n == 20:
                restarter.start()
            started = time.monotonic()
            try:
                stored = await asyncio.gather(
                    *(store.append(parse_event(body(n * 100 + k))) for k in range(5))
                )
                acknowledged += [s.raw for s in stored if s is not None]
            except StoreError:
                failed += 1
            slowest = max(slowest, time.monotonic() - started)
            if store.health() is not None:
                degraded.append(store.health())
            await asyncio.sleep(0.005)  # paces the load; the restart's join is the deadline
    restarter.join()
    print(f"\nrestart: {failed} of {n} rounds failed at once (slowest {slowest:.3f} s)")
    assert failed > 0 and degraded, "the restart was not noticed"
    assert slowest < 6.0, f"a write took {slowest:.1f} s"
    stored_raw = {e.raw for e in await store.events(limit=100_000)}
    assert set(acknowledged) <= stored_raw
    assert await store.append(parse_event(body(10**7))) is not None
    assert not [r for r in caplog.records if PASSWORD in r.getMessage()]
    assert any("reconnected" in r.getMessage() for r in caplog.records)
