"""PostgreSQL going away under vcall serve: restarted mid-load, events get 503 with Retry-After
(never a hang, never a 500), /healthz says degraded, the server reconnects by itself, and
nothing acknowledged is lost; a database that is wrong or unreachable at start is one line and
a non-zero exit."""

from __future__ import annotations

import asyncio
import itertools
import socket
import subprocess
import sys
import threading
from pathlib import Path

import aiohttp
import pytest
from pg_cluster import PASSWORD, PgCluster
from webhook_load import DEADLINE, PLAIN, body, deliver

from vcall.store import open_store

pytestmark = pytest.mark.e2e


async def test_postgres_restarted_mid_load(instance, own_postgres: PgCluster) -> None:
    url = own_postgres.create_database("restarted")
    server = instance("a", url)
    numbers = itertools.count()
    restarted = threading.Event()
    health: list[tuple[int, dict]] = []
    runs = []

    async def watch_health(http: aiohttp.ClientSession) -> None:
        while not restarted.is_set() or not health or health[-1][0] != 200:
            async with http.get(server.url + "/healthz") as resp:
                health.append((resp.status, await resp.json()))
            await asyncio.sleep(0.01)  # polling; the load's asyncio.timeout is the deadline

    def restart() -> None:
        own_postgres.restart("fast")
        restarted.set()

    restarter = threading.Thread(target=restart)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        watcher = asyncio.create_task(watch_health(http))
        async with asyncio.timeout(3 * DEADLINE):
            # Load before, during and after the restart, until events are taken again.
            while len(runs) < 5 or not restarted.is_set() or runs[-1].statuses.count(200) < 50:
                if len(runs) == 5:
                    restarter.start()
                runs.append(await deliver([server.url], [body(next(numbers)) for _ in range(100)]))
            await watcher
    restarter.join()
    statuses = [status for run in runs for status in run.statuses]
    problems = [problem for run in runs for problem in run.problems]
    assert problems == []  # every 503 had a Retry-After; no request hung or failed
    assert set(statuses) == {200, 503}, "no outage seen, or a status other than 200 and 503"
    degraded = [answer for status, answer in health if status == 503]
    assert degraded and degraded[0]["status"] == "degraded" and degraded[0]["store"]
    assert health[-1] == (200, {"ok": True})
    acked = {raw: id_ for run in runs for raw, id_ in run.acked.items()}
    store = open_store(url)
    await store.open()
    try:
        stored = {e.raw: e.id for e in await store.events(limit=100_000)}
    finally:
        await store.close()
    assert {raw: stored.get(raw) for raw in acked} == acked
    output = server.output()
    assert "Traceback" not in output
    # One line when the store goes, one when it is back: not one a webhook.
    assert output.count("reconnecting") == 1 and output.count("reconnected") == 1, output


def serve_exits(store: str, *flags: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vcall", "serve", *PLAIN, "--port", "0", "--store", store, *flags],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


@pytest.mark.parametrize("flags", [(), ("--workers", "2")], ids=["one", "workers"])
def test_an_unreachable_database_at_start_is_one_line(tmp_path: Path, flags: tuple) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = unused.getsockname()[1]
        done = serve_exits(
            f"postgresql://vcall:{PASSWORD}@127.0.0.1:{port}/ev", *flags, cwd=tmp_path
        )
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = [line for line in done.stderr.splitlines() if not line.startswith("Warning:")]
    assert line.startswith(
        f"Error: cannot open event store postgresql://vcall@127.0.0.1:{port}/ev:"
    )
    assert PASSWORD not in done.stderr


def test_a_wrong_password_at_start_is_one_line(tmp_path: Path, pg_url: str) -> None:
    done = serve_exits(pg_url.replace(PASSWORD, "not-the-password"), cwd=tmp_path)
    assert done.returncode == 1
    (line,) = [line for line in done.stderr.splitlines() if not line.startswith("Warning:")]
    assert "password authentication failed" in line and "not-the-password" not in line
