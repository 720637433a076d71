"""``vcall tail-events``: event → line latency, and the time to open on a 1 M-event store.

Run from the repository root (after the README's test command, which makes .venv):

    .venv/bin/python bench/tail.py                   # 1,000,000 events, 500 latency samples
    .venv/bin/python bench/tail.py --events 100000 --samples 200   # quicker

Both parts run real processes on loopback: ``vcall serve --port 0`` and ``vcall tail-events
--json``, as a user would.

- **latency**: one event at a time is POSTed to /voice/event; the time runs from just before
  the request is sent until a reader thread sees the event's line on the tail's stdout. It
  includes the durable commit (``synchronous=FULL``), the SSE hop, JSON and the pipe.
- **open**: the store is filled with N events (bulk SQL, not webhooks), then the time from
  starting ``vcall tail-events --json`` to its 50th backlog line, against the same on an
  empty store (the difference is what the big store costs), and the stream API's time to
  its ``ready`` event with ``last=50``.
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
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _harness as h
import httpx

ROOT = Path(__file__).resolve().parents[1]
SEED = h.SEED
VCALL = [sys.executable, "-m", "vcall"]


@contextmanager
def serving(home: Path, store: Path) -> Any:
    """``vcall serve --port 0`` on ``store``; yields (url, key)."""
    env = {**os.environ, "VCALL_HOME": str(home)}
    proc = subprocess.Popen(
        [*VCALL, "serve", "--port", "0", "--quiet", "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split("listening on ")[1].split()[0]
        key = json.loads((home / "serve.json").read_text())["key"]
        yield url, key
    finally:
        proc.terminate()
        proc.wait()


def start_tail(home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "VCALL_HOME": str(home)}
    return subprocess.Popen(
        [*VCALL, "tail-events", "--json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip


def latency(home: Path, samples: int) -> dict[str, float]:
    with serving(home, home / "latency.db") as (url, _key):
        tail = start_tail(home, "--last", "0")
        assert tail.stderr is not None
        tail.stderr.readline()  # "following …": subscribed
        clock = h.TailClock(tail)
        template = SEED["events"][0]
        lat, ack = [], []
        with httpx.Client(base_url=url) as http:
            for i in range(samples + 20):
                uuid = f"bench-{i}"
                body = json.dumps(dict(template, uuid=uuid)).encode()
                t0 = time.perf_counter()
                http.post("/voice/event", content=body).raise_for_status()
                t_ack = time.perf_counter()
                arrived = clock.arrival(uuid)
                if i >= 20:  # warm-up
                    lat.append(arrived - t0)
                    ack.append(t_ack - t0)
        tail.terminate()
        tail.wait()
    return {
        "line_p50_ms": 1000 * statistics.median(lat),
        "line_p99_ms": 1000 * h.pct(lat, 0.99),
        "ack_p50_ms": 1000 * statistics.median(ack),
        "ack_p99_ms": 1000 * h.pct(ack, 0.99),
    }


def open_time(home: Path, store: Path, runs: int = 5) -> dict[str, float]:
    """Seconds from starting the tail to its 50th line; and the API's time to ``ready``."""
    with serving(home, store) as (url, key):
        process_times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            tail = start_tail(home, "--last", "50")
            assert tail.stdout is not None
            for _ in range(50):
                tail.stdout.readline()
            process_times.append(time.perf_counter() - t0)
            tail.terminate()
            tail.wait()
        api_times = []
        from httpx_sse import connect_sse

        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers) as http:
            for _ in range(runs):
                t0 = time.perf_counter()
                with connect_sse(http, "GET", "/api/events/stream", params={"last": "50"}) as s:
                    for message in s.iter_sse():
                        if message.event == "ready":
                            break
                api_times.append(time.perf_counter() - t0)
    return {
        "tail_50_lines_s": statistics.median(process_times),
        "api_ready_ms": 1000 * statistics.median(api_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vcall-bench-tail-") as tmp:
        home = Path(tmp)
        result: dict[str, Any] = {"samples": args.samples, "events": args.events}
        result["latency"] = latency(home, args.samples)
        print(json.dumps(result["latency"], indent=2), flush=True)
        small = home / "small.db"
        h.fill_store(small, 50)
        result["open_small"] = open_time(home, small)
        t0 = time.perf_counter()
        big = home / "big.db"
        h.fill_store(big, args.events)
        result["fill_s"] = time.perf_counter() - t0
        result["open_big"] = open_time(home, big)
        print(json.dumps(result, indent=2))
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "tail.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
