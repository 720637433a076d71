"""The event store alone: what a committed event costs, by how many events share a commit.

Run from the repository root:

    .venv/bin/python bench/store.py
    .venv/bin/python bench/store.py --events 5000 --rounds 1

No HTTP: vcall's own ``SqliteStore`` (default durability, a real file under bench/.work) in this
process. For each batch size B, B appends are queued in one loop pass (as B concurrent webhooks
queue theirs) and each is awaited until its commit, so every commit holds exactly B events. The
store is warmed first (the WAL grown to the size a long-running server reuses), every event is
new, and the sizes run in rounds, in a rotating order. CPU is user + system of the whole process
(the checkpoint thread too), from getrusage. This is the part of an event's cost that the
webhook floor does not pay at all (under wrk at 32 connections most commits hold all 32 events).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from pathlib import Path

import _harness as h

from vcall.events import CallEvent, parse_event
from vcall.store.sqlite import SqliteStore

BATCHES = (1, 4, 10, 32)
WARM_UP = 20_000


async def ingest(store: SqliteStore, events: list[CallEvent], batch: int) -> None:
    """Append ``events`` ``batch`` at a time, each batch awaited to its commit."""
    for k in range(0, len(events), batch):
        futures = [store.append(event) for event in events[k : k + batch]]
        for future in futures:
            if await future is None:
                raise RuntimeError("an event was taken for a repeat: the bodies must differ")


async def measure(path: Path, n: int, rounds: int) -> dict[int, list[tuple[float, float, float]]]:
    """Per batch size, per round: (wall, user CPU, system CPU) in µs per event."""
    seeds = iter(range(1, 10_000))

    def fresh(count: int) -> list[CallEvent]:
        return [parse_event(body) for body in h.event_bodies(count, next(seeds) * 1000)]

    store = SqliteStore(path)
    await store.open()
    out: dict[int, list[tuple[float, float, float]]] = {b: [] for b in BATCHES}
    try:
        await ingest(store, fresh(WARM_UP), 10)
        for turn in range(rounds):
            shift = turn % len(BATCHES)
            for batch in BATCHES[shift:] + BATCHES[:shift]:
                events = fresh(n)
                r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
                await ingest(store, events, batch)
                t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
                out[batch].append(
                    (
                        1e6 * (t1 - t0) / n,
                        1e6 * (r1.ru_utime - r0.ru_utime) / n,
                        1e6 * (r1.ru_stime - r0.ru_stime) / n,
                    )
                )
    finally:
        await store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="per batch size and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    h.WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="store-", dir=h.WORK) as scratch:
        results = asyncio.run(measure(Path(scratch) / "events.db", args.events, args.rounds))
    header = ["events a commit", "wall µs an event", "CPU µs an event (user + sys)", "events/s"]
    rows = []
    for batch, runs in results.items():
        wall, user, system = (statistics.median(r[i] for r in runs) for i in range(3))
        cpu = f"{user + system:.1f} ({user:.1f} + {system:.1f})"
        rows.append([str(batch), f"{wall:.1f}", cpu, f"{1e6 / wall:,.0f}"])
    title = (
        f"Event store alone (SqliteStore, durability normal): {args.events:,} new events per "
        f"batch size, {args.rounds} rounds, medians"
    )
    note = "what an event costs in the store alone: the webhook floor pays none of it"
    h.publish(title, header, rows, [note], args.markdown)


if __name__ == "__main__":
    main()
