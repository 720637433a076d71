"""An acknowledged event survives ``kill -9`` of vcall serve, at every durability level."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from vcall import runtime
from vcall.config import Paths
from vcall.store import DURABILITY, open_store


def _start(store: Path, durability: str) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "vcall", "serve", "--port", "0", "--quiet", "--live"),
            *("--no-verify", "--store", str(store), "--durability", durability),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        if Paths.default().runtime.exists():
            return proc, runtime.find(Paths.default()).url
        time.sleep(0.02)  # polling for the server's runtime file, with a deadline
    proc.kill()
    proc.wait()
    raise AssertionError("vcall serve did not start")


@pytest.mark.e2e
@pytest.mark.parametrize("durability", list(DURABILITY))
async def test_acknowledged_events_survive_kill_9(tmp_path: Path, durability: str) -> None:
    store_path = tmp_path / "events.db"
    proc, url = _start(store_path, durability)
    acked: dict[int, bytes] = {}
    killed = asyncio.Event()

    async def post(session: aiohttp.ClientSession, i: int) -> None:
        body = json.dumps({"uuid": f"u{i}", "status": "started", "timestamp": f"t{i}"}).encode()
        try:
            async with session.post(f"{url}/voice/event", data=body) as resp:
                if resp.status == 200:
                    acked[(await resp.json())["id"]] = body
        except aiohttp.ClientError:
            pass  # in flight when the server died: never acknowledged, so it may be lost
        if len(acked) >= 100 and not killed.is_set():
            killed.set()
            proc.send_signal(signal.SIGKILL)  # no shutdown, no final commit: a crash

    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(post(session, i) for i in range(400)))
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()  # type: ignore[union-attr]
    assert killed.is_set() and proc.returncode == -signal.SIGKILL

    store = open_store(store_path)
    await store.open()
    try:
        stored = {e.id: e.raw for e in await store.events(limit=1000)}
    finally:
        await store.close()
    assert len(acked) >= 100
    assert {i: stored.get(i) for i in acked} == acked
