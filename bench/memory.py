"""Memory: ``vcall serve``'s resident set after 1,000,000 events, and tail start-up on that store.

Run from the repository root:

    .venv/bin/python bench/memory.py              # 1,000,000 events
    .venv/bin/python bench/memory.py --events 100000

The events go in over HTTP, through wrk (bench/anchors/wrk/event_unique.lua, every one distinct), into a
``vcall serve`` at its default durability. RSS is read from /proc (VmRSS now, VmHWM the peak).
Then ``vcall tail-events --json --last N`` is started against that server and timed until its
N lines are out: the start-up a user sees on a store that size.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import _harness as h
from webhooks import ANSWER_PATH, LUA_EVENT, wrk

#: Target from the issue.
RSS_TARGET_MIB = 100


def ingest(url: str, store: Path, events: int, scratch: Path) -> float:
    """POST events until the store holds ``events``; returns the mean rate (events/s)."""
    start = time.monotonic()
    while (stored := count(store)) < events:
        # wrk has no request budget: run in slices sized from the rate so far.
        # (The first slice assumes a rate above any seen here, so it cannot overshoot much.)
        rate = stored / (time.monotonic() - start) if stored else 30_000
        seconds = max(1, min(30, (events - stored) / rate))
        wrk(url + "/voice/event", 32, round(seconds), LUA_EVENT, scratch / "acked.txt")
    return count(store) / (time.monotonic() - start)


def count(store: Path) -> int:
    with sqlite3.connect(store) as conn:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]


def tail_startup(home: Path, last: int, runs: int) -> float:
    """Median seconds from starting ``vcall tail-events --json --last N`` to its N-th line."""
    env = {**os.environ, "VCALL_HOME": str(home)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode caching on, as for users
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [h.VCALL, "tail-events", "--json", "--last", str(last)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        for _line in range(last):
            if not proc.stdout.readline():
                raise RuntimeError("vcall tail-events ended early")
        times.append(time.perf_counter() - start)
        proc.terminate()
        proc.wait()
        proc.stdout.close()
    return statistics.median(times)


def run(events: int, lasts: list[int]) -> dict[str, float]:
    """Ingest, read the server's memory, time tail."""
    h.ensure_debian("wrk")
    h.WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="memory-", dir=h.WORK) as scratch:
        home = Path(scratch) / "home"
        store = home / "events.db"
        port = h.free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = h.vcall_serve(port, store)
        with h.server(cmd, url + ANSWER_PATH, {"VCALL_HOME": str(home)}) as proc:
            idle = h.rss_kib(proc.pid)[0]
            rate = ingest(url, store, events, Path(scratch))
            rss, peak = h.rss_kib(proc.pid)
            out = {
                "events": count(store),
                "rate": rate,
                "idle_mib": idle / 1024,
                "rss_mib": rss / 1024,
                "peak_mib": peak / 1024,
                "db_mib": store.stat().st_size / 1024**2,
                "wal_mib": store.with_name("events.db-wal").stat().st_size / 1024**2,
            }
            for last in lasts:
                out[f"tail_last_{last}_s"] = tail_startup(home, last, runs=5)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    r = run(args.events, [50, 1000])
    rows = [
        ["events stored (over HTTP)", f"{r['events']:,}", f"at {r['rate']:,.0f} events/s"],
        ["vcall serve RSS, idle", f"{r['idle_mib']:.1f} MiB", "before the first event"],
        ["vcall serve RSS, after", f"{r['rss_mib']:.1f} MiB", f"peak {r['peak_mib']:.1f} MiB"],
        ["store on disk", f"{r['db_mib']:.0f} MiB", f"and {r['wal_mib']:.0f} MiB of WAL"],
        ["tail-events --last 50", f"{r['tail_last_50_s'] * 1000:.0f} ms", "start to 50th line"],
        ["tail-events --last 1000", f"{r['tail_last_1000_s'] * 1000:.0f} ms", "to 1000th line"],
    ]
    ok = r["rss_mib"] <= RSS_TARGET_MIB
    verdict = (
        f"RSS after {r['events']:,} events: {r['rss_mib']:.1f} MiB "
        f"(target ≤ {RSS_TARGET_MIB} MB): {'met' if ok else 'MISSED'}"
    )
    title = f"Memory and tail start-up, {r['events']:,} events in the store"
    h.publish(title, ["measure", "value", "note"], rows, [verdict], args.markdown)


if __name__ == "__main__":
    main()
