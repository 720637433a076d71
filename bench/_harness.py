"""What the benchmark scripts share: servers as subprocesses, the anchors, wrk, the machine."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import asyncpg

# The tests' own helpers (a PostgreSQL server, Chromium's flags) serve the benchmarks too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import chromium

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
ANCHORS = BENCH / "anchors"
#: Scratch space (gitignored): stores, keys, results of a run.
WORK = BENCH / ".work"
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin"
VCALL = str(VENV_BIN / "vcall")
PYTHON = str(VENV_BIN / "python")


def ensure_debian(*tools: str) -> None:
    """Install the Debian packages named like these tools (wrk, hyperfine) if missing."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", *missing], check=True)


def anchors_workdir() -> Path:
    """bench/anchors with its node_modules installed (``npm ci`` from the lockfile, once)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        sys.exit("node and npm are needed for the anchors (Express, the Vonage CLI)")
    if not (ANCHORS / "node_modules" / ".bin" / "vonage").exists():
        subprocess.run(
            ["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=ANCHORS, check=True
        )
    return ANCHORS


#: The seed's answered event, with the uuid and timestamp varied per request.
EVENT = (
    '{"start_time":null,"headers":{},"rate":null,"from":"441234567890","to":"442038297050",'
    '"uuid":"%s","conversation_uuid":"CON-8f5a100c-fbce-4218-8d4b-16341335bcd6",'
    '"status":"answered","direction":"inbound","network":null,"timestamp":"%s"}'
)


def event_bodies(n: int, seed: int) -> list[bytes]:
    """``n`` distinct event bodies (random-looking uuid, growing timestamp)."""
    bodies = []
    for i in range(n):
        uuid = f"{seed:08x}{os.urandom(8).hex()}{i:08x}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_600_000_000 + seed + i // 1000))
        bodies.append((EVENT % (uuid, f"{stamp}.{i % 1000:03d}Z")).encode())
    return bodies


#: Debian's Chromium as the browser tests drive it (tests/chromium.py): the path, the flags,
#: and those a page that answers calls needs too.
CHROMIUM = chromium.PATH
CHROMIUM_ARGS = chromium.HEADLESS
CHROMIUM_MEDIA = chromium.MEDIA


#: The seed call (tests/fixtures/seed_call.json): its events fill stores in bulk.
SEED = json.loads((ROOT / "tests" / "fixtures" / "seed_call.json").read_text())
_FILL_COLUMNS = (
    "id", "received_at", "conversation_uuid", "uuid", "status", "direction", "from", "to",
    "timestamp", "duration", "price", "dedupe_key", "raw",
)  # fmt: skip


def _seed_rows(n: int) -> Iterator[tuple[Any, ...]]:
    """``n`` events of seed calls, 7 a call, each call its own conversation and legs."""
    events = SEED["events"]
    for i in range(n):
        call = i // 7
        e = dict(events[i % 7])
        e.update(conversation_uuid=f"CON-{call:08d}", uuid=f"{e['uuid'][:8]}-{call:08d}")
        raw = json.dumps(e, separators=(",", ":")).encode()
        yield (
            i + 1, "2026-01-01T00:00:00.000Z", e["conversation_uuid"], e["uuid"], e["status"],
            e["direction"], e["from"].strip(), e["to"], e["timestamp"], e.get("duration"),
            e.get("price"), f"{i}", raw,
        )  # fmt: skip


def fill_store(location: str | Path, n: int) -> None:
    """A new store at ``location`` (a SQLite file or a PostgreSQL URL) holding ``n`` events
    of seed calls, written in bulk (not through webhooks)."""
    from vcall.store import open_store

    async def create() -> None:
        store = open_store(location)
        await store.open()
        await store.close()

    asyncio.run(create())
    if str(location).startswith("postgresql://"):

        async def copy() -> None:
            conn = await asyncpg.connect(str(location))
            try:
                await conn.copy_records_to_table(
                    "events", records=_seed_rows(n), columns=list(_FILL_COLUMNS)
                )
                await conn.execute("ANALYZE events")
            finally:
                await conn.close()

        asyncio.run(copy())
        return
    conn = sqlite3.connect(location)
    conn.execute("PRAGMA synchronous=OFF")
    names = ", ".join(f'"{c}"' for c in _FILL_COLUMNS)
    with conn:
        conn.executemany(
            f"INSERT INTO events ({names}) VALUES ({','.join('?' * len(_FILL_COLUMNS))})",
            _seed_rows(n),
        )
    conn.close()


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], deadline_s: float = 60, stderr: IO[bytes] | None = None
) -> None:
    """Poll ``url`` until it answers (deadline: a loaded machine starts servers slowly); if the
    server exits first, say why with the end of its ``stderr`` (a file it wrote to)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = ""
            if stderr is not None:
                stderr.seek(0)
                said = ": " + stderr.read().decode(errors="replace").strip()[-2000:]
            raise RuntimeError(f"{proc.args} exited early with {proc.returncode}{said}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)  # a script, not a test: polling interval under a deadline
    raise RuntimeError(f"{url} not ready in {deadline_s:g} s")


@contextmanager
def server(
    cmd: list[str],
    ready_url: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    deadline_s: float = 60,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server subprocess while the context is open (stopped with SIGTERM)."""
    # Its stderr goes to a file, read only if it fails to start (quiet servers write little).
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            cmd,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            wait_ready(ready_url, proc, deadline_s, stderr)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def vcall_serve(port: int, store: Path, *flags: str, vcall: str = VCALL) -> list[str]:
    """``vcall serve`` measuring the plain webhook path: live mode, no signature checks, quiet."""
    mode = ["--live", "--no-verify", "--quiet"]
    return [vcall, "serve", *mode, "--port", str(port), "--store", str(store), *flags]


def baseline_vcall(checkout: Path) -> str:
    """The ``vcall`` of another checkout (e.g. ``git worktree add ../before REV``, then its test
    command), to measure a change against the code before it, side by side in one run."""
    vcall = checkout / ".venv" / "bin" / "vcall"
    if not vcall.is_file():
        sys.exit(f"{vcall} is missing: run the README's test command in {checkout} first")
    return str(vcall)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, all its threads together."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> tuple[int, int]:
    """(current, peak) resident set size of a process, KiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def machine() -> dict[str, str]:
    """What the numbers were measured on, and how busy it was."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    return {
        "cpu": model.group(1).strip() if model else platform.processor(),
        "nproc": str(os.cpu_count()),
        "ram": f"{int(mem.group(1)) / 1024**2:.1f} GiB" if mem else "?",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load": load(),
    }


def load() -> str:
    """The 1/5/15-minute load averages, as uptime prints them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def publish(
    title: str, header: list[str], rows: list[list[str]], notes: list[str], md: Path | None
) -> None:
    """Print a result table and its notes; also write them as Markdown to ``md`` if given."""
    from rich.console import Console
    from rich.table import Table

    table = Table(*header, title=title)
    for row in rows:
        table.add_row(*row)
    console = Console(width=200)
    console.print(table)
    for note in notes:
        console.print(note)
    if md is not None:
        lines = [f"{title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        md.write_text("\n".join([*lines, "", *(f"- {note}" for note in notes)]) + "\n")


class TailClock:
    """When each event reached a ``vcall tail-events --json`` process: its stdout is read on a
    thread, and each line's event uuid noted with the time it came."""

    def __init__(self, tail: subprocess.Popen[bytes]) -> None:
        self.seen: dict[str, float] = {}
        self._arrived = threading.Condition()
        self._tail = tail
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._tail.stdout is not None
        for line in self._tail.stdout:
            now = time.perf_counter()
            uuid = json.loads(line)["event"]["uuid"]
            with self._arrived:
                self.seen[uuid] = now
                self._arrived.notify_all()

    def arrival(self, uuid: str, timeout: float = 10) -> float:
        """When ``uuid``'s line came (waiting up to ``timeout`` seconds for it)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: uuid in self.seen, timeout=timeout):
                raise SystemExit(f"event {uuid} never reached the tail")
        return self.seen[uuid]


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0 to 1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _rows(store: str | Path, query: str, *params: Any) -> list[Any]:
    """Run ``query`` (``$n`` placeholders) on a SQLite file or a PostgreSQL URL."""
    if not str(store).startswith("postgresql://"):
        with sqlite3.connect(store) as conn:
            return conn.execute(re.sub(r"\$\d+", "?", query), params).fetchall()

    async def fetch() -> list[Any]:
        conn = await asyncpg.connect(str(store))
        try:
            return list(await conn.fetch(query, *params))
        finally:
            await conn.close()

    return asyncio.run(fetch())


def stored_ids(store: str | Path, after: int) -> set[int]:
    """The ids of the events stored after ``after`` (a SQLite file or a PostgreSQL URL)."""
    return {row[0] for row in _rows(store, "SELECT id FROM events WHERE id > $1", after)}


def max_id(store: str | Path) -> int:
    """The newest event's id (0 for none)."""
    return int(_rows(store, "SELECT coalesce(max(id), 0) FROM events")[0][0])


@contextmanager
def postgres() -> Iterator[Any]:
    """A throwaway PostgreSQL server on loopback (the tests' own, tests/pg_cluster.py), its
    durability settings left at the server's defaults; removed at the end."""
    from pg_cluster import running_cluster

    with running_cluster() as cluster:
        yield cluster
