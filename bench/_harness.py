"""What the benchmark scripts share: servers as subprocesses, the anchors, wrk, the machine."""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

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


@contextmanager
def postgres() -> Iterator[Any]:
    """A throwaway PostgreSQL server on loopback (the tests' own, tests/pg_cluster.py), its
    durability settings left at the server's defaults; removed at the end."""
    sys.path.insert(0, str(ROOT / "tests"))
    from pg_cluster import running_cluster

    with running_cluster() as cluster:
        yield cluster
