"""Instructions per request: vcall serve vs the bare-aiohttp floor, counted, not timed.

Run from the repository root:

    .venv/bin/python bench/instructions.py              # 2,000 requests per route
    .venv/bin/python bench/instructions.py --requests 500

Requests per second on a shared or virtual machine drift by tens of percent from one second to
the next; the number of instructions a server runs per request does not. Each server runs under
valgrind's callgrind (Debian's valgrind, installed if missing) with counting switched off; after
a warm-up it is switched on for exactly N requests of one route (32 at a time, from an aiohttp
client in this process's interpreter), then off again. User-space instructions only: the
kernel's share (the sockets, SQLite's writes) is not in these figures, and is about the same per
request for both servers but for vcall's commits. Events are all distinct, as in webhooks.py.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import tempfile
from pathlib import Path

import _harness as h
from webhooks import ANSWER_PATH

CONCURRENCY = 32
WARM_UP = 300
#: The libraries whose own share of vcall's event requests is shown: a part of the path of
#: their object file (msgspec's is msgspec/_core…so), and a label.
SHARES = {"/apsw/": "SQLite (apsw, which bundles it)", "/msgspec/": "msgspec"}


async def load(base: str, route: str, n: int, seed: int) -> None:
    """``n`` requests of ``route`` ("event" or "answer"), CONCURRENCY at a time; all must be 2xx."""
    import aiohttp

    bodies = iter(h.event_bodies(n, seed)) if route == "event" else iter([None] * n)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for body in bodies:
                if body is None:
                    resp = await session.get(base + ANSWER_PATH)
                else:
                    headers = {"Content-Type": "application/json"}
                    resp = await session.post(base + "/voice/event", data=body, headers=headers)
                async with resp:
                    await resp.read()
                    if resp.status >= 300:
                        raise RuntimeError(f"{route}: HTTP {resp.status}")

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


def callgrind(pid: int, *args: str) -> None:
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, **quiet)


def measure(cmd: list[str], env: dict[str, str], port: int, n: int, out: Path) -> dict[str, Path]:
    """Run ``cmd`` under callgrind; one profile per route, each of exactly ``n`` requests."""
    base = f"http://127.0.0.1:{port}"
    valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    profiles = {}
    # Under valgrind a server starts 20-50 times slower: a long deadline.
    with h.server([*valgrind, *cmd], base + ANSWER_PATH, env, deadline_s=600) as proc:
        for part, route in enumerate(("event", "answer"), start=1):
            asyncio.run(load(base, route, WARM_UP, seed=part * 7))
            callgrind(proc.pid, "-i", "on")
            asyncio.run(load(base, route, n, seed=part * 7 + 1))
            callgrind(proc.pid, "-i", "off")
            callgrind(proc.pid, "-d")  # writes out.<part> and zeroes the counters
            profiles[route] = Path(f"{out}.{part}")
    return profiles


def totals(profile: Path) -> tuple[int, dict[str, int]]:
    """All instructions in a profile, and those in the object files of :data:`SHARES`."""
    text = subprocess.run(
        ["callgrind_annotate", "--threshold=100", str(profile)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = int(re.search(r"^([\d,]+) \S* *PROGRAM TOTALS", text, re.M).group(1).replace(",", ""))
    shares = dict.fromkeys(SHARES, 0)
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,]+) .*\[(.+)\]\s*$", line)
        if m:
            for key in SHARES:
                if key in m.group(2):
                    shares[key] += int(m.group(1).replace(",", ""))
    return total, shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per route (default 2000)")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    h.ensure_debian("valgrind")
    h.WORK.mkdir(parents=True, exist_ok=True)
    n = args.requests
    with tempfile.TemporaryDirectory(prefix="instructions-", dir=h.WORK) as scratch:
        work = Path(scratch)
        floor_port, vcall_port = h.free_port(), h.free_port()
        floor = [h.PYTHON, str(h.ANCHORS / "aiohttp_floor.py")]
        vcall = h.vcall_serve(vcall_port, work / "vcall" / "events.db")
        runs = {
            "floor": measure(floor, {"PORT": str(floor_port)}, floor_port, n, work / "floor.cg"),
            "vcall": measure(
                vcall, {"VCALL_HOME": str(work / "vcall")}, vcall_port, n, work / "vcall.cg"
            ),
        }
        counted = {name: {r: totals(p) for r, p in routes.items()} for name, routes in runs.items()}

    rows = []
    for route in ("event", "answer"):
        (f_total, _), (v_total, _) = counted["floor"][route], counted["vcall"][route]
        rows.append(
            [
                f"{route} ({'POST /voice/event' if route == 'event' else 'GET /voice/answer'})",
                f"{f_total / n:,.0f}",
                f"{v_total / n:,.0f}",
                f"{f_total / v_total:.2f}×",
            ]
        )
    _, event_shares = counted["vcall"]["event"]
    share_note = ", ".join(f"{label} {event_shares[key] / n:,.0f}" for key, label in SHARES.items())
    title = (
        f"Instructions per request (callgrind, user space; {n:,} requests per route, 32 at a time)"
    )
    notes = [
        "floor/vcall is the throughput ratio these counts predict for a CPU-bound server "
        "(the event target is ≥ 0.8×)",
        f"of vcall's event request, instructions in: {share_note}",
    ]
    header = ["route", "floor", "vcall", "floor/vcall"]
    h.publish(title, header, rows, notes, args.markdown)


if __name__ == "__main__":
    main()
