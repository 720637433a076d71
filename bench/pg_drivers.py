"""asyncpg against psycopg 3 on the PostgreSQL store's event path: which driver, and why.

Run from the repository root (after the README's test command, which makes .venv):

    .venv/bin/python bench/pg_drivers.py
    .venv/bin/python bench/pg_drivers.py --events 5000 --rounds 1

A throwaway PostgreSQL server (Debian's, default durability: every commit reaches the disk)
on loopback, one fresh database per driver and round. Both drivers run the store's own
statements (vcall/store/pg_schema.py, in PostgreSQL's ``$n`` placeholders): psycopg through its
raw cursor, prepared and binary, in autocommit (each batch is one statement, its own
transaction), asyncpg as it comes (it prepares and speaks binary by itself). For each batch size
B, batches of B new events are inserted one after another, each awaited to its commit (as the
store's group commit does); then the events are read back a page of 100 at a time, as the
stream catches up. CPU is this process's (the driver's share, from getrusage) and the server
backend's (from /proc), per event. Drivers and sizes run in rounds, in a rotating order.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import _harness as h
import asyncpg
import psycopg

from vcall.events import parse_event, utc_now
from vcall.store import pg_schema as sql

BATCHES = (1, 32)
PAGE = 100

#: (run a statement returning rows, backend pid, close)
Session = tuple[Callable[[str, Sequence[Any]], Awaitable[list[Any]]], int, Callable[[], Any]]


async def asyncpg_session(url: str) -> Session:
    conn = await asyncpg.connect(url)

    async def run(query: str, params: Sequence[Any]) -> list[Any]:
        return await conn.fetch(query, *params)

    return run, conn.get_server_pid(), conn.close


async def psycopg_session(url: str) -> Session:
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    cur = psycopg.AsyncRawCursor(conn)

    async def run(query: str, params: Sequence[Any]) -> list[Any]:
        await cur.execute(query, params, prepare=True, binary=True)
        return await cur.fetchall()

    return run, conn.info.backend_pid, conn.close


DRIVERS = {"asyncpg": asyncpg_session, "psycopg": psycopg_session}


async def fresh_database(admin_url: str, name: str, url_for: Callable[[str], str]) -> str:
    """A new database with the store's schema; its URL."""
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = url_for(name)
    conn = await asyncpg.connect(url)
    try:
        for statement in sql.MIGRATIONS[0]:
            await conn.execute(statement)
    finally:
        await conn.close()
    return url


def cpu(pid: int | None = None) -> float:
    """CPU seconds of this process (``pid`` None) or of a server backend."""
    if pid is None:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime
    return h.cpu_seconds(pid)


async def measure(session: Session, n: int, batch: int, seed: int) -> tuple[float, ...]:
    """(events/s, client µs, server µs) writing; then the same reading, per event."""
    run, pid, _close = session
    events = [parse_event(b) for b in h.event_bodies(n, seed)]
    c0, s0, t0 = cpu(), cpu(pid), time.perf_counter()
    for k in range(0, n, batch):
        chunk = events[k : k + batch]
        rows = await run(sql.INSERT_EVENTS, (utc_now(), *map(list, zip(*chunk, strict=True))))
        if len(rows) != len(chunk):
            raise RuntimeError("an event was taken for a repeat: the bodies must differ")
    t1, c1, s1 = time.perf_counter(), cpu(), cpu(pid)
    after, read = 0, 0
    while True:
        rows = await run(sql.PAGE, (after, PAGE))
        page = [r for r in rows if r[2] is not None]
        if not page:
            break
        after, read = page[-1][2], read + len(page)
    t2, c2, s2 = time.perf_counter(), cpu(), cpu(pid)
    if read < n:
        raise RuntimeError(f"read back {read} of {n} events")
    return (
        n / (t1 - t0),
        1e6 * (c1 - c0) / n,
        1e6 * (s1 - s0) / n,
        read / (t2 - t1),
        1e6 * (c2 - c1) / read,
        1e6 * (s2 - s1) / read,
    )


async def run_all(cluster: Any, n: int, rounds: int) -> dict[tuple[str, int], list[tuple]]:
    out: dict[tuple[str, int], list[tuple]] = {(d, b): [] for d in DRIVERS for b in BATCHES}
    points = list(out)
    seed = 1
    for turn in range(rounds):
        shift = turn % len(points)
        for driver, batch in points[shift:] + points[:shift]:
            url = await fresh_database(cluster.url, f"bench_{driver}_{batch}", cluster.url_for)
            session = await DRIVERS[driver](url)
            try:
                await measure(session, 1000, batch, seed * 1000)  # warm-up: prepare, caches
                out[driver, batch].append(await measure(session, n, batch, seed * 1000 + 500))
            finally:
                await session[2]()
            seed += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="per driver, size and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    with h.postgres() as cluster:
        results = asyncio.run(run_all(cluster, args.events, args.rounds))
    header = [
        "driver",
        "events a commit",
        "write: events/s",
        "write CPU µs an event (vcall + server)",
        "read: events/s",
        "read CPU µs an event (vcall + server)",
    ]
    rows = []
    for (driver, batch), runs in results.items():
        m = [statistics.median(r[i] for r in runs) for i in range(6)]
        rows.append(
            [
                driver,
                str(batch),
                f"{m[0]:,.0f}",
                f"{m[1]:.1f} + {m[2]:.1f}",
                f"{m[3]:,.0f}",
                f"{m[4]:.1f} + {m[5]:.1f}",
            ]
        )
    title = (
        f"PostgreSQL drivers on the event path: {args.events:,} new events per driver and batch "
        f"size, {args.rounds} rounds, medians"
    )
    note = (
        "each batch is one INSERT (its own transaction); reads are pages of 100 below the horizon"
    )
    h.publish(title, header, rows, [note], args.markdown)


if __name__ == "__main__":
    main()
