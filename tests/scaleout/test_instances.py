"""Several vcall serve instances on one store: a tail on one sees what another stores, a
delivery both receive at once is stored once, and a tail following one while both are
hammered sees every event once, in order (PostgreSQL, and SQLite where several processes
share one file)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from pg_cluster import PASSWORD
from webhook_load import DEADLINE, body, deliver, tailing, until_seen

from vcall.store import open_store

pytestmark = pytest.mark.e2e


async def test_a_tail_on_one_instance_prints_what_another_stores(instance, pg_url: str) -> None:
    a, b = instance("a", pg_url), instance("b", pg_url)
    tail = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "vcall", "tail-events", "--json", "--since", "0"),
        *("--url", b.url, "--key", b.key),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "VCALL_HOME": str(b.home)},
    )
    try:
        assert tail.stderr is not None and tail.stdout is not None
        async with asyncio.timeout(DEADLINE):
            assert b"following" in await tail.stderr.readline()
            bodies = [body(n) for n in range(20)]
            stored = await deliver([a.url], bodies, connections=4)
            lines = [json.loads(await tail.stdout.readline()) for _ in bodies]
    finally:
        tail.terminate()
        await tail.wait()
    assert sorted(stored.acked.values()) == [line["id"] for line in lines]
    assert {json.dumps(line["event"]).encode() for line in lines} == {
        json.dumps(json.loads(raw)).encode() for raw in bodies
    }
    # The server names its store without the password.
    assert "events: postgresql://vcall@127.0.0.1:" in a.output()
    assert PASSWORD not in a.output() + b.output()


async def test_the_same_delivery_to_two_instances_at_once_is_one_row(
    instance, shared_store: Path | str
) -> None:
    a, b = instance("a", shared_store), instance("b", shared_store)
    bodies = [body(n) for n in range(150)]
    both = await asyncio.gather(
        *(deliver([url], [raw], connections=1) for raw in bodies for url in (a.url, b.url))
    )
    for first, second in zip(both[::2], both[1::2], strict=True):
        assert (len(first.acked), len(second.acked)) in ((1, 0), (0, 1))
        assert first.duplicates + second.duplicates == 1
    store = open_store(shared_store)
    await store.open()
    try:
        assert await store.count() == len(bodies)
    finally:
        await store.close()


async def test_a_tail_misses_nothing_and_repeats_nothing_while_two_instances_are_hammered(
    instance, shared_store: Path | str
) -> None:
    """The gap test: ids that commit out of order on two instances must not be skipped by a
    reader of a third point of view (a tail on B), nor sent twice."""
    a, b = instance("a", shared_store), instance("b", shared_store)
    async with tailing(b) as seen:
        bodies = [body(n) for n in range(3000)]
        result = await deliver([a.url, b.url], bodies, connections=24)
        assert result.problems == [] and len(result.acked) == len(bodies)
        wanted = sorted(result.acked.values())
        await until_seen(seen, len(wanted))
    assert seen == wanted, "a gap, a repeat or an event out of order"


async def test_kill_9_of_one_instance_mid_load_loses_nothing_acknowledged(
    instance, pg_url: str
) -> None:
    a, b = instance("a", pg_url), instance("b", pg_url)
    bodies = [body(n) for n in range(3000)]

    def kill_a_midway(acked: int) -> None:
        if acked >= 600 and a.proc.poll() is None:
            a.proc.send_signal(signal.SIGKILL)

    first = await deliver([a.url, b.url], bodies, connections=16, on_ack=kill_a_midway)
    a.proc.wait(timeout=10)
    assert a.proc.returncode == -9 and first.problems, "the kill was not mid-load"
    # Vonage retries what was not acknowledged (and may repeat what was): all of it to B.
    again = await deliver([b.url], bodies, connections=16)
    assert again.problems == [] and len(again.acked) + again.duplicates == len(bodies)
    store = open_store(pg_url)
    await store.open()
    try:
        stored = {e.raw: e.id for e in await store.events(limit=10 * len(bodies))}
    finally:
        await store.close()
    assert {raw: stored.get(raw) for raw in first.acked} == first.acked  # none lost
    assert sorted(stored) == sorted(bodies)  # each exactly once
