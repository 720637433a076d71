"""``vcall serve --workers N``: N processes on one port and one store; a worker killed is
replaced with nothing acknowledged lost; Ctrl-C and SIGTERM stop them all."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from polling import until
from webhook_load import DEADLINE, body, deliver, tailing, until_seen

from vcall.store import open_store

pytestmark = pytest.mark.e2e


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


async def stored_raw(store_at: Path | str) -> dict[bytes, int]:
    store = open_store(store_at)
    await store.open()
    try:
        return {e.raw: e.id for e in await store.events(limit=100_000)}
    finally:
        await store.close()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
async def test_workers_share_the_port_and_stop_together(
    instance, shared_store: Path | str, stop: int
) -> None:
    server = instance("w", shared_store, "--workers", "2")
    workers = server.children()
    assert len(workers) == 2
    assert "2 workers" in server.output()
    before = {pid: cpu_seconds(pid) for pid in workers}
    result = await deliver([server.url], [body(n) for n in range(2000)], connections=32)
    assert result.problems == [] and len(result.acked) == 2000
    busy = {pid: cpu_seconds(pid) - before[pid] for pid in workers}
    # The kernel spreads the 32 connections over both (a fifth each at the very least).
    assert min(busy.values()) > 0.2 * sum(busy.values()), f"a worker idled: {busy}"
    assert server.stop(stop) == 0
    assert [pid for pid in workers if Path(f"/proc/{pid}").exists()] == []
    assert "Traceback" not in server.output()
    stored = await stored_raw(shared_store)
    assert {raw: stored.get(raw) for raw in result.acked} == result.acked


async def test_a_stream_on_one_worker_sees_what_the_other_stores(
    instance, shared_store: Path | str
) -> None:
    """Whichever worker the stream lands on, every event reaches it (the other worker's too:
    SQLite is watched for other processes' commits, PostgreSQL notifies)."""
    server = instance("w", shared_store, "--workers", "2")
    async with tailing(server) as seen:
        result = await deliver([server.url], [body(n) for n in range(400)], connections=16)
        assert result.problems == []
        await until_seen(seen, len(result.acked))
    assert seen == sorted(result.acked.values())


async def test_a_worker_killed_mid_load_is_replaced_and_nothing_acknowledged_is_lost(
    instance, pg_url: str
) -> None:
    server = instance("w", pg_url, "--workers", "2")
    victim = server.children()[0]
    bodies = [body(n) for n in range(3000)]

    def kill_one_midway(acked: int) -> None:
        if acked >= 600 and Path(f"/proc/{victim}").exists():
            subprocess.run(["kill", "-9", str(victim)], check=False)

    first = await deliver([server.url], bodies, connections=16, on_ack=kill_one_midway)
    await until(
        lambda: len(server.children()) == 2 and victim not in server.children(),
        "a new worker in place of the one killed",
        deadline=DEADLINE,
        every=0.05,
    )
    again = await deliver([server.url], bodies, connections=16)
    assert again.problems == [] and len(again.acked) + again.duplicates == len(bodies)
    stored = await stored_raw(pg_url)
    assert {raw: stored.get(raw) for raw in first.acked} == first.acked
    assert sorted(stored) == sorted(bodies)
    assert "worker 1" in server.output() or "worker 2" in server.output()


def test_workers_need_live_mode(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vcall", "serve", "--sandbox", "--workers", "2", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "Error: --workers needs --live: the sandbox keeps its calls in one process's memory"
    )
