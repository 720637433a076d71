"""Scale-out: SQLite against PostgreSQL under vcall serve, one instance and ``--workers 2``;
and how fast an event stored by one instance reaches a tail on another.

Run from the repository root (after the README's test command, which makes .venv):

    .venv/bin/python bench/scaleout.py            # 4 rounds × 2 s per server, 500 samples
    .venv/bin/python bench/scaleout.py --quick    # 2 rounds, 200 samples

A throwaway PostgreSQL server (Debian's, durability at its defaults: fsync on, and vcall commits
synchronously) runs on loopback beside the servers under test.

- **ingest**: wrk (one thread, 32 connections, keep-alive) POSTs distinct events
  (bench/anchors/wrk/event_unique.lua) to ``vcall serve --live --no-verify --quiet`` on a SQLite
  file (default durability), on a PostgreSQL database, and on PostgreSQL with ``--workers 2``
  (and SQLite with ``--workers 2``). Rounds as in bench/webhooks.py: every server started afresh
  each round, run back to back in a rotating order, medians over the rounds; a ratio is the
  median of the rounds' own ratios. Every event is committed before its 2xx (the stores'
  contract); after each run every id wrk saw acknowledged is looked up in the store, and the
  only other stored events may be those in flight when wrk stopped.
- **fan-out**: two separate ``vcall serve`` instances A and B on one PostgreSQL database and
  ``vcall tail-events --json`` following B; one event at a time is POSTed to A, and the time
  runs from just before the request until the tail prints the event's line (A's commit, the
  notification, B's read, the stream, the tail's JSON and pipe). Then the same while wrk keeps
  A busy at 8 connections.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _harness as h
from webhooks import LUA_COUNT, LUA_EVENT, data_check, wrk

SAMPLES_WARM_UP = 20


@dataclass
class Server:
    """One configuration under test: its store (a file or a URL) and flags."""

    name: str
    store: str
    flags: list[str] = field(default_factory=list)
    port: int = 0
    home: Path = Path()
    pid: int = 0


def under_test(scratch: Path, cluster: Any) -> list[Server]:
    sqlite_file = str(scratch / "sqlite" / "events.db")
    out = [
        Server("SQLite", sqlite_file),
        Server("PostgreSQL", cluster.create_database("one")),
        Server("PostgreSQL --workers 2", cluster.create_database("two"), ["--workers", "2"]),
        Server("SQLite --workers 2", str(scratch / "sqlite2" / "events.db"), ["--workers", "2"]),
    ]
    for s in out:
        s.home = scratch / s.name.replace(" ", "_").replace("-", "")
    return out


def ingest(
    cluster: Any, scratch: Path, seconds: int, rounds: int
) -> tuple[dict[str, dict], dict[str, list[float]], list[str]]:
    servers = under_test(scratch, cluster)
    runs: dict[str, list[dict]] = {s.name: [] for s in servers}
    problems: list[str] = []
    ids = scratch / "acked.txt"
    for turn in range(rounds):
        with ExitStack() as stack:
            for s in servers:
                s.port = h.free_port()
                cmd = h.vcall_serve(s.port, Path(s.store), *s.flags)
                cmd[cmd.index("--store") + 1] = s.store  # a URL is not a path
                base = f"http://127.0.0.1:{s.port}"
                proc = h.server(cmd, base + "/healthz", {"VCALL_HOME": str(s.home)})
                s.pid = stack.enter_context(proc).pid
                wrk(base + "/voice/event", 32, 1, LUA_EVENT, ids)  # warm-up, not counted
            shift = turn % len(servers)
            for s in servers[shift:] + servers[:shift]:
                before = h.max_id(s.store)
                cpu = tree_cpu(s.pid)
                r = wrk(f"http://127.0.0.1:{s.port}/voice/event", 32, seconds, LUA_EVENT, ids)
                r["cpu_us"] = (tree_cpu(s.pid) - cpu) * 1e6 / max(1, r["answered"])
                runs[s.name].append(r)
                if problem := data_check(s.store, before, r, ids):
                    problems.append(f"{s.name}: {problem}")
        print(f"  ingest round {turn + 1} of {rounds}: done  (load {h.load()})", file=sys.stderr)
    medians = {
        name: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99", "cpu_us")}
        for name, rs in runs.items()
    }
    ratios = {
        name: [r["rps"] / base["rps"] for r, base in zip(rs, runs["SQLite"], strict=True)]
        for name, rs in runs.items()
    }
    return medians, ratios, problems


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (the workers of --workers)."""
    total = h.cpu_seconds(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else ():
        total += tree_cpu(int(child))
    return total


@contextmanager
def instance(home: Path, store: str) -> Any:
    """``vcall serve`` on ``store``; yields (url, key)."""
    port = h.free_port()
    cmd = h.vcall_serve(port, Path(store))
    cmd[cmd.index("--store") + 1] = store
    with h.server(cmd, f"http://127.0.0.1:{port}/healthz", {"VCALL_HOME": str(home)}):
        announced = home / "serve.json"  # written just after the server listens
        deadline = time.monotonic() + 30
        while not announced.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}", json.loads(announced.read_text())["key"]


def fan_out(cluster: Any, scratch: Path, samples: int, load: bool) -> dict[str, float]:
    """Event POSTed to A → its line from a tail on B: p50/p99 ms (with A under wrk if ``load``)."""
    store = cluster.create_database(f"fanout_{int(load)}")
    homes = scratch / f"a{int(load)}", scratch / f"b{int(load)}"
    with instance(homes[0], store) as (a, _), instance(homes[1], store) as (b, key):
        tail = subprocess.Popen(
            [h.VCALL, "tail-events", "--json", "--last", "0", "--url", b, "--key", key],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert tail.stderr is not None
        tail.stderr.readline()  # "following …"
        clock = h.TailClock(tail)
        background = None
        if load:
            script = scratch / "load.lua"  # as webhooks.wrk runs it: the counters first
            script.write_text(LUA_COUNT.read_text() + LUA_EVENT.read_text())
            background = subprocess.Popen(
                ["wrk", "-t1", "-c8", "-d600s", "-s", str(script), a + "/voice/event"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "BENCH_RUN": "9"},
            )
        latencies = []
        try:
            for i in range(samples + SAMPLES_WARM_UP):
                uuid = f"fanout-{i}"
                body = json.dumps(
                    {"uuid": uuid, "status": "answered", "timestamp": f"2026-01-01T00:00:{i}Z"}
                ).encode()
                request = urllib.request.Request(a + "/voice/event", body, method="POST")
                t0 = time.perf_counter()
                urllib.request.urlopen(request, timeout=10).read()
                arrived = clock.arrival(uuid)
                if i >= SAMPLES_WARM_UP:
                    latencies.append(arrived - t0)
        finally:
            if background is not None:
                background.terminate()
                background.wait()
            tail.terminate()
            tail.wait()
    return {"p50": 1000 * statistics.median(latencies), "p99": 1000 * h.pct(latencies, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=int, default=2, help="per server and round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown here")
    args = parser.parse_args()
    rounds, samples = (2, 200) if args.quick else (args.rounds, args.samples)
    h.ensure_debian("wrk")
    h.WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scaleout-", dir=h.WORK) as tmp, h.postgres() as pg:
        scratch = Path(tmp)
        medians, ratios, problems = ingest(pg, scratch, args.seconds, rounds)
        quiet = fan_out(pg, scratch, samples, load=False)
        busy = fan_out(pg, scratch, samples, load=True)
    header = ["store", "events/s", "p50 ms", "p99 ms", "CPU µs an event", "vs SQLite"]
    rows = [
        [
            name,
            f"{m['rps']:,.0f}",
            f"{m['p50']:.2f}",
            f"{m['p99']:.2f}",
            f"{m['cpu_us']:.0f}",
            f"{statistics.median(ratios[name]):.2f}× "
            f"({min(ratios[name]):.2f}–{max(ratios[name]):.2f})",
        ]
        for name, m in medians.items()
    ]
    pg_ratio = statistics.median(ratios["PostgreSQL"])
    notes = [
        f"PostgreSQL one instance vs SQLite one instance: {pg_ratio:.2f}× (target ≥ 0.5×): "
        + ("met" if pg_ratio >= 0.5 else "MISSED"),
        f"fan-out, an event stored on A → a tail on B, one at a time: p50 {quiet['p50']:.1f} ms, "
        f"p99 {quiet['p99']:.1f} ms (target ≤ 50 ms): "
        + ("met" if quiet["p99"] <= 50 else "MISSED"),
        f"the same while wrk loads A at 8 connections: p50 {busy['p50']:.1f} ms, "
        f"p99 {busy['p99']:.1f} ms",
        "CPU: the server's processes (the workers too); PostgreSQL's own CPU is not in it",
    ]
    title = (
        f"Scale-out: wrk -t1 -c32, {rounds} rounds × {args.seconds} s per server; medians; "
        "ratio: median (range) of the rounds"
    )
    h.publish(title, header, rows, notes, args.markdown)
    if problems:
        print("\nDATA CHECK FAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("\nData check: every event acknowledged is in its store (PostgreSQL and SQLite alike).")


if __name__ == "__main__":
    main()
