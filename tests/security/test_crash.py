"""Crash durability: kill -9 vcall serve under load; every acknowledged event survives, at
every durability level, and redelivery after the restart stores nothing twice."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from vcall.store import DURABILITY, open_store

EVENTS = 2000
KILL_AFTER = 400  # acknowledged events before the kill
WORKERS = 32

pytestmark = pytest.mark.e2e


def _bodies() -> list[bytes]:
    return [
        json.dumps(
            {"uuid": f"crash-{i:05d}", "status": "started", "timestamp": f"2026-01-01T00:00:{i}"}
        ).encode()
        for i in range(EVENTS)
    ]


async def _deliver(url: str, bodies: list[bytes], sign_body, on_ack=None) -> tuple[set[bytes], int]:  # type: ignore[no-untyped-def]
    """POST every body with WORKERS in flight; the bodies that got a 2xx, and the failures."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    acked: set[bytes] = set()
    failed = 0

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal failed
        while not queue.empty():
            body = queue.get_nowait()
            try:
                async with http.post("/voice/event", data=body, headers=sign_body(body)) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        acked.add(body)
                        if on_ack is not None:
                            on_ack(len(acked))
                    else:
                        failed += 1
            except (aiohttp.ClientError, OSError):
                failed += 1

    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(url, timeout=timeout) as http:
        await asyncio.gather(*(worker(http) for _ in range(WORKERS)))
    return acked, failed


@pytest.mark.parametrize("durability", list(DURABILITY))
async def test_kill_9_mid_load_loses_no_acknowledged_event(
    serve_process, tmp_path, options, sign_body, durability
):
    store_path = tmp_path / "events.db"
    secret = ("--signature-secret", options.signature_secret, "--durability", durability)
    server = serve_process("--quiet", *secret, store=store_path)
    bodies = _bodies()

    def kill_midway(acked: int) -> None:
        if acked >= KILL_AFTER and server.proc.poll() is None:
            server.kill()  # SIGKILL: no shutdown, no flush, requests still in flight

    acked, cut_off = await _deliver(server.url, bodies, sign_body, kill_midway)
    assert server.proc.returncode == -9
    assert KILL_AFTER <= len(acked) < EVENTS and cut_off > 0  # the kill really was mid-load

    # What the dead server acknowledged is on disk (SQLite recovers its WAL on open).
    store = open_store(store_path)
    await store.open()
    try:
        survived = {e.raw for e in await store.events(limit=EVENTS * 2)}
    finally:
        await store.close()
    assert acked - survived == set(), f"{len(acked - survived)} acknowledged events lost"

    # Restart on the same store; Vonage would retry what was not acknowledged, and may
    # repeat what was: send everything again. Nothing may be stored twice.
    restarted = serve_process("--quiet", *secret, store=store_path)
    again, failed = await _deliver(restarted.url, bodies, sign_body)
    assert failed == 0 and again == set(bodies)
    restarted.stop()
    store = open_store(store_path)
    await store.open()
    try:
        stored = [e.raw for e in await store.events(limit=EVENTS * 2)]
        assert await store.count() == EVENTS
    finally:
        await store.close()
    assert sorted(stored) == sorted(bodies)  # each exactly once, byte for byte
    print(f"\ncrash: {len(acked)} acknowledged before kill -9 ({cut_off} cut off), 0 lost")
