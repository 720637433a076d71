"""Webhook throughput: vcall serve vs the tutorial's Express server vs the bare-aiohttp floor.

Run from the repository root (after the README's test command, which makes .venv):

    .venv/bin/python bench/webhooks.py            # the full run: 32 connections + sweep
    .venv/bin/python bench/webhooks.py --quick    # 3 s per point, 32 connections only

All three servers are measured in this one run on this one machine, with wrk (installed from
Debian's packages if missing). Event bodies vary per request (bench/event_unique.lua) so vcall's
dedupe does not flatter it, and after each vcall run the store is checked: every event wrk got a
2xx for must be stored (stored count between wrk's 2xx count and the number of requests sent).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANCHORS = ROOT.parent / "shared" / "anchors"
LUA_EVENT = ROOT / "bench" / "event_unique.lua"
ANSWER_PATH = "/voice/answer?from=441234567890&to=442038297050&uuid=0779a56d002f1c7f47f82ef5fe84ab79"
#: Prepended to every wrk script: numbers the threads and counts 2xx answers per thread.
LUA_COUNT = """
ok = 0
local threads = {}
local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end
function response(status, headers, body) if status >= 200 and status < 300 then ok = ok + 1 end end
function done(summary, latency, requests)
  local total_ok = 0
  for _, t in ipairs(threads) do total_ok = total_ok + t:get("ok") end
  io.write(string.format("OK2XX %d\\n", total_ok))
end
"""


def ensure_tools() -> None:
    """wrk (Debian) for load, node/npm for the Express anchor."""
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    if shutil.which("node") is None:
        sys.exit("node is needed for the Express anchor")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, deadline_s: float = 20) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)  # bench script, not a test: polling interval with a deadline
    raise RuntimeError(f"{url} not ready in {deadline_s}s")


@contextmanager
def server(cmd: list[str], env: dict[str, str], ready_url: str, cwd: Path | None = None):
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(ready_url, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def anchors_workdir(scratch: Path) -> Path:
    """A writable copy of shared/anchors with its node_modules installed."""
    work = scratch / "anchors"
    if not (work / "node_modules" / "express").exists():
        shutil.copytree(ANCHORS, work, dirs_exist_ok=True)
        subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=work, check=True)
    return work


def wrk(url: str, connections: int, seconds: int, script: Path | None) -> dict[str, float]:
    """One wrk run; requests/s, p50/p99 (ms), and how many 2xx / sent."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA_COUNT + (script.read_text() if script else ""))
        lua = fh.name
    threads = 1 if connections < 2 else 2 if connections >= 64 else 1
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", lua, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(lua)

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
        "requests": total,
        "ok": int(re.search(r"OK2XX (\d+)", out).group(1)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def stored_events(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per point, 32 connections only")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    seconds = 3 if args.quick else args.seconds
    sweep = [32] if args.quick else [1, 8, 32, 128]
    ensure_tools()
    scratch = Path(tempfile.mkdtemp(prefix="vcall-bench-"))
    anchors = anchors_workdir(ROOT / "bench" / ".work")
    vcall = str(ROOT / ".venv" / "bin" / "vcall")
    results: dict[str, dict[str, dict[int, dict[str, float]]]] = {}
    problems: list[str] = []

    def run(name: str, cmd: list[str], env: dict[str, str], port: int, cwd: Path | None = None, db: Path | None = None):
        base = f"http://127.0.0.1:{port}"
        res: dict[str, dict[int, dict[str, float]]] = {"answer": {}, "event": {}}
        with server(cmd, env, base + ANSWER_PATH, cwd):
            res["answer"][32] = wrk(base + ANSWER_PATH, 32, seconds, None)
            before = stored_events(db) if db else 0
            for c in sweep:
                r = wrk(base + "/voice/event", c, seconds, LUA_EVENT)
                res["event"][c] = r
                if db:
                    # wrk stops with requests in flight; those may commit after wrk stopped counting.
                    stored = stored_events(db) - before
                    before += stored
                    r["stored"] = stored
                    if not (r["ok"] <= stored <= r["ok"] + c):
                        problems.append(f"{name} c={c}: {r['ok']} 2xx answers but {stored} stored")
        results[name] = res
        print(f"  {name}: done", file=sys.stderr)

    db = scratch / "events.db"
    port = free_port()
    run(
        "vcall",
        [vcall, "serve", "--quiet", "--port", str(port), "--store", str(db), *VCALL_SERVE_ARGS],
        {"VCALL_HOME": str(scratch / ".vcall")},
        port,
        db=db,
    )
    port = free_port()
    run("express", ["node", "express_server.js"], {"QUIET": "1", "PORT": str(port)}, port, cwd=anchors)
    port = free_port()
    run("floor", [str(ROOT / ".venv" / "bin" / "python"), str(ANCHORS / "load" / "aiohttp_floor.py")], {"PORT": str(port)}, port)

    print_table(results, sweep)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    shutil.rmtree(scratch, ignore_errors=True)
    if problems:
        print("\nDATA CHECK FAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("\nData check: every event wrk got a 2xx for is in the store.")


#: Extra flags for vcall serve in the benchmark (none: the defaults are what is measured).
VCALL_SERVE_ARGS: list[str] = []


def print_table(results: dict, sweep: list[int]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Webhooks, wrk on loopback (req/s; p50 / p99 ms)")
    table.add_column("route")
    table.add_column("conns", justify="right")
    for name in results:
        table.add_column(name, justify="right")
    table.add_column("vcall/express", justify="right")
    table.add_column("vcall/floor", justify="right")

    def cell(r: dict[str, float]) -> str:
        return f"{r['rps']:,.0f}  ({r['p50']:.2f} / {r['p99']:.2f})"

    rows = [("answer GET", 32)] + [("event POST", c) for c in sweep]
    for route, c in rows:
        key = "answer" if route.startswith("answer") else "event"
        cells = [cell(results[n][key][c]) for n in results]
        v = results["vcall"][key][c]["rps"]
        table.add_row(
            route,
            str(c),
            *cells,
            f"{v / results['express'][key][c]['rps']:.2f}x",
            f"{v / results['floor'][key][c]['rps']:.2f}x",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
