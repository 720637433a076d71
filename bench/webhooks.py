"""Webhook throughput: vcall serve vs the tutorial's Express server vs the bare-aiohttp floor.

Run from the repository root (after the README's test command, which makes .venv):

    .venv/bin/python bench/webhooks.py            # 8 s per point, sweep 1 / 8 / 32 / 128
    .venv/bin/python bench/webhooks.py --quick    # 4 s per point, 32 connections only

All servers run side by side in this one run on this one machine. A shared or virtual machine's
speed drifts by tens of percent within seconds, and two processes of one server differ by up to
a fifth, so each point is measured in rounds: every round starts every server afresh and runs
each for a slice of the time, back to back, in a rotating order, and the table gives each
server's median over the rounds; a ratio is the median of the rounds' own ratios (its range
shows the drift). wrk (Debian's, installed if missing) runs one thread: on a 2-core machine,
one core for wrk, one for the server.

vcall serve runs as ``--live --no-verify --quiet``: the plain webhook path, no signature check
(the sandbox default checks one), no line per webhook. It is measured at the default durability
(``normal``) and at ``--durability full``. Event bodies vary per request (bench/anchors/wrk/event_unique.lua)
so dedupe never flatters vcall. Data check after every vcall event run: each event id wrk got a
2xx for is looked up in the store, and the only stored events wrk did not see acknowledged must
be the ones in flight when wrk stopped (sent − answered, as counted by bench/anchors/wrk/count.lua).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import _harness as h

ANSWER_PATH = (
    "/voice/answer?from=441234567890&to=442038297050&uuid=0779a56d002f1c7f47f82ef5fe84ab79"
)
LUA_COUNT = h.ANCHORS / "wrk" / "count.lua"
LUA_EVENT = h.ANCHORS / "wrk" / "event_unique.lua"
ROUTES = {"answer GET": (ANSWER_PATH, None), "event POST": ("/voice/event", LUA_EVENT)}
#: What vcall's requests per second are divided by, round by round.
PEERS = ("express", "floor", "baseline")
_run_ids = itertools.count(1)


@dataclass
class Server:
    """One server under test."""

    name: str
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    store: Path | None = None  #: vcall only: its SQLite file, for the data check
    port: int = 0
    pid: int = 0  #: once started


def servers(scratch: Path, anchors: Path, baseline: str | None = None) -> list[Server]:
    """vcall (default durability and full), the Express anchor and the aiohttp floor; and the
    ``baseline`` vcall at the default durability, if one is given."""
    out = []
    variants = [("vcall", [], h.VCALL), ("vcall full", ["--durability", "full"], h.VCALL)]
    if baseline:
        variants.append(("baseline", [], baseline))
    for name, flags, vcall in variants:
        port, home = h.free_port(), scratch / name.replace(" ", "-")
        store = home / "events.db"
        cmd = h.vcall_serve(port, store, *flags, vcall=vcall)
        out.append(Server(name, cmd, {"VCALL_HOME": str(home)}, store=store, port=port))
    port = h.free_port()
    env = {"QUIET": "1", "PORT": str(port)}
    out.append(Server("express", ["node", "express_server.js"], env, anchors, port=port))
    port = h.free_port()
    floor = [h.PYTHON, str(h.ANCHORS / "aiohttp_floor.py")]
    out.append(Server("floor", floor, {"PORT": str(port)}, port=port))
    return out


def wrk(url: str, connections: int, seconds: float, script: Path | None, ids: Path) -> dict:
    """One wrk run: requests/s, p50/p99 ms, and the counts from bench/anchors/wrk/count.lua."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(LUA_COUNT.read_text() + (script.read_text() if script else ""))
    env = {**os.environ, "BENCH_IDS": str(ids), "BENCH_RUN": str(next(_run_ids))}
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", lua.name, url]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    finally:
        os.unlink(lua.name)

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else -1

    counts = re.search(r"BENCH ok=(\d+) sent=(\d+) answered=(\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
        "ok": int(counts.group(1)),
        "sent": int(counts.group(2)),
        "answered": int(counts.group(3)),
    }


def data_check(store: str | Path, before: int, result: dict, ids: Path) -> str | None:
    """None if every acknowledged event is stored and nothing else is, but what was in flight."""
    acked = {int(line) for line in ids.read_text().split()}
    stored = h.stored_ids(store, before)
    in_flight = result["sent"] - result["answered"]
    result.update(stored=len(stored), in_flight=in_flight)
    if len(acked) != result["ok"]:
        return f"{result['ok']} 2xx answers carried {len(acked)} distinct event ids"
    if lost := acked - stored:
        return f"{len(lost)} acknowledged events are not in the store"
    if not 0 <= len(stored) - len(acked) <= in_flight:
        return f"{len(stored)} stored, {len(acked)} acknowledged, {in_flight} in flight at the end"
    return None


def run(
    seconds: float, sweep: list[int], rounds: int, scratch: Path, baseline: str | None = None
) -> tuple[dict, dict, list[str]]:
    """Every route × connections × server in ``rounds`` rounds of ``seconds / rounds`` each
    (whole seconds: wrk's unit).

    Each round starts every server afresh: two processes of one server on this machine differ
    by up to a fifth in speed for their whole life (hash seeds, memory layout), so each round
    samples new ones and the medians span them. Within a round, each point runs every server
    back to back, who goes first rotating from round to round.

    Returns the per-server medians results[server][route][conns], each round's ratios
    ratios[route][conns][peer] (vcall / peer), and the data-check problems.
    """
    anchors = h.anchors_workdir()
    under_test = servers(scratch, anchors, baseline)
    points = [(route, conns) for route in ROUTES for conns in sweep]
    runs: dict = {point: {s.name: [] for s in under_test} for point in points}
    problems: list[str] = []
    ids = scratch / "acked.txt"
    for turn in range(rounds):
        with ExitStack() as stack:
            for s in under_test:
                base = f"http://127.0.0.1:{s.port}"
                proc = h.server(s.cmd, base + ANSWER_PATH, s.env, s.cwd)
                s.pid = stack.enter_context(proc).pid
                for path, script in ROUTES.values():  # warm-up (JITs, caches), not counted
                    wrk(base + path, 32, 1, script, ids)
            shift = turn % len(under_test)
            for route, conns in points:
                path, script = ROUTES[route]
                for s in under_test[shift:] + under_test[:shift]:
                    before = h.max_id(s.store) if s.store else 0
                    url = f"http://127.0.0.1:{s.port}{path}"
                    cpu = h.cpu_seconds(s.pid)
                    r = wrk(url, conns, max(1, round(seconds / rounds)), script, ids)
                    r["cpu_us"] = (h.cpu_seconds(s.pid) - cpu) * 1e6 / max(1, r["answered"])
                    runs[route, conns][s.name].append(r)
                    if s.store and script and (problem := data_check(s.store, before, r, ids)):
                        problems.append(f"{s.name} {route} c={conns}: {problem}")
        print(f"  round {turn + 1} of {rounds}: done  (load {h.load()})", file=sys.stderr)
    results: dict = {s.name: {route: {} for route in ROUTES} for s in under_test}
    ratios: dict = {route: {} for route in ROUTES}
    for (route, conns), measured in runs.items():
        for name, server_runs in measured.items():
            results[name][route][conns] = median_run(server_runs)
        ratios[route][conns] = {
            peer: [
                v["rps"] / p["rps"] for v, p in zip(measured["vcall"], measured[peer], strict=True)
            ]
            for peer in PEERS
            if peer in measured
        }
    return results, ratios, problems


def median_run(runs: list[dict]) -> dict:
    """Each figure's median over the rounds; the counts summed."""
    out = {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p99", "cpu_us")}
    out.update({key: sum(r[key] for r in runs) for key in ("ok", "sent", "answered")})
    return out


def ratio_cell(values: list[float]) -> str:
    """Median ratio and its range over the rounds."""
    return f"{statistics.median(values):.2f}× ({min(values):.2f}–{max(values):.2f})"


def table_rows(results: dict, ratios: dict, sweep: list[int]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: median req/s (p50 / p99 ms) per server, and vcall's ratios."""
    names = list(results)
    peers = list(ratios[next(iter(ROUTES))][sweep[0]])
    header = ["route", "conns", *names, *(f"vcall/{peer}" for peer in peers)]
    rows = []
    for route in ROUTES:
        for c in sweep:
            cells = [results[n][route][c] for n in names]
            rows.append(
                [route, str(c)]
                + [f"{r['rps']:,.0f} ({r['p50']:.2f} / {r['p99']:.2f})" for r in cells]
                + [ratio_cell(ratios[route][c][peer]) for peer in peers]
            )
    return header, rows


def verdicts(results: dict, ratios: dict) -> list[str]:
    """The issue's targets, met or missed, on the 32-connection row."""
    vs_express, vs_floor = (
        statistics.median(ratios["event POST"][32][p]) for p in ("express", "floor")
    )
    p99 = results["vcall"]["answer GET"][32]["p99"]
    return [
        f"event ingest vs Express: {vs_express:.2f}× (target ≥ 2.0×): "
        + ("met" if vs_express >= 2 else "MISSED"),
        f"event ingest vs floor: {vs_floor:.2f}× (target ≥ 0.8×): "
        + ("met" if vs_floor >= 0.8 else "MISSED"),
        f"answer p99: {p99:.2f} ms (target ≤ 3 ms): {'met' if p99 <= 3 else 'MISSED'}",
        cpu_note(results),
    ] + [
        f"{route} at 32 connections vs the baseline: {ratio_cell(ratios[route][32]['baseline'])}"
        for route in ROUTES
        if "baseline" in ratios[route].get(32, {})
    ]


def cpu_note(results: dict) -> str:
    """CPU time per event, kernel included, read from /proc around each wrk run: what each
    server spends per event, less at the mercy of the machine's drift than req/s."""
    vcall, floor = (results[name]["event POST"][32]["cpu_us"] for name in ("vcall", "floor"))
    return (
        f"CPU per event at 32 connections (user + system, all threads; median of the rounds): "
        f"vcall {vcall:.0f} µs, floor {floor:.0f} µs: floor/vcall {floor / vcall:.2f}×"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 s per point, 32 connections only")
    parser.add_argument("--seconds", type=float, default=8, help="per point and server (default 8)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per point (default 4)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout (with its .venv) to run side by side"
    )
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    seconds = 4 if args.quick else args.seconds
    sweep = [32] if args.quick else [1, 8, 32, 128]
    h.ensure_debian("wrk")
    h.WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="webhooks-", dir=h.WORK) as scratch:
        baseline = h.baseline_vcall(args.baseline) if args.baseline else None
        results, ratios, problems = run(seconds, sweep, args.rounds, Path(scratch), baseline)

    header, rows = table_rows(results, ratios, sweep)
    title = (
        f"Webhooks: wrk -t1, {args.rounds} rounds × {seconds / args.rounds:g} s per point; "
        "median req/s (p50 / p99 ms); ratios: median (range) of the rounds"
    )
    h.publish(title, header, rows, verdicts(results, ratios), args.markdown)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "ratios": ratios}, indent=2))
    if problems:
        print("\nDATA CHECK FAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(
        "\nData check: every event vcall acknowledged is in its store; the only others are the "
        "requests in flight when wrk stopped."
    )


if __name__ == "__main__":
    main()
