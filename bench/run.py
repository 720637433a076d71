"""Every benchmark in one run (webhooks, start-up, memory, instructions, the store alone,
vcall status, the PostgreSQL drivers, scale-out on PostgreSQL, the page on the real Client SDK,
the calls inspector).

Run from the repository root (after the README's test command, which makes .venv):

    .venv/bin/python bench/run.py             # the README's Performance section
    .venv/bin/python bench/run.py --quick     # a few minutes less: 32 connections, 100k events

It waits (up to --wait seconds) for the machine's 1-minute load to fall below --max-load, since
the figures mean little on a busy machine, then writes bench/results/report.md and prints it.
The load before and after is part of the report.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import _harness as h


def wait_for_quiet(max_load: float, wait_s: float) -> None:
    """Poll the load average until it is below ``max_load`` or ``wait_s`` has passed."""
    deadline = time.monotonic() + wait_s
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        print(f"  waiting for a quieter machine (load {h.load()})", file=sys.stderr)
        time.sleep(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--max-load", type=float, default=0.5)
    parser.add_argument("--wait", type=float, default=600, help="seconds to wait for it at most")
    args = parser.parse_args()
    h.RESULTS.mkdir(parents=True, exist_ok=True)
    wait_for_quiet(args.max_load, args.wait)
    m = h.machine()
    started = datetime.now(UTC)
    parts = {
        "webhooks": ["webhooks.py", *(["--quick"] if args.quick else [])],
        "startup": ["startup.py", *(["--runs", "10"] if args.quick else [])],
        "memory": ["memory.py", *(["--events", "100000"] if args.quick else [])],
        "instructions": ["instructions.py", *(["--requests", "500"] if args.quick else [])],
        "store": ["store.py", *(["--events", "5000"] if args.quick else [])],
        "status": ["status.py", *(["--runs", "10"] if args.quick else [])],
        "pg_drivers": ["pg_drivers.py", *(["--events", "5000"] if args.quick else [])],
        "scaleout": ["scaleout.py", *(["--quick"] if args.quick else [])],
        "client_sdk": ["client_sdk.py", *(["--calls", "20"] if args.quick else [])],
        "inspector": [
            "inspector.py",
            *(["--events", "100000", "--samples", "100"] if args.quick else []),
        ],
    }
    sections = []
    for name, (script, *flags) in parts.items():
        md = h.RESULTS / f"{name}.md"
        cmd = [sys.executable, str(h.BENCH / script), *flags, "--markdown", str(md)]
        subprocess.run(cmd, check=True)
        sections.append(md.read_text())
    command = "bench/run.py" + (" --quick" if args.quick else "")
    header = [
        f"Measured {started:%Y-%m-%d %H:%M}–{datetime.now(UTC):%H:%M} UTC with "
        f"`.venv/bin/python {command}` on "
        f"{m['cpu']}, {m['nproc']} cores, {m['ram']} RAM, Linux {m['kernel']}, "
        f"Python {m['python']}.",
        f"Load average (1/5/15 min) before: {m['load']}; after: {h.load()}.",
    ]
    report = "\n\n".join(header + sections)
    (h.RESULTS / "report.md").write_text(report)
    print("\n" + report)


if __name__ == "__main__":
    main()
