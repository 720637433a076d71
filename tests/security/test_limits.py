"""Limits: slow clients are cut off, and answering never waits behind a flood of events."""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import time

import aiohttp
import pytest

from vcall.serving import running
from vcall.web import body
from vcall.web.app import create_app


async def test_slow_request_head_is_cut_off(options):
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    async with running(create_app(options), "127.0.0.1", 0, idle_timeout=0.5) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        started = time.monotonic()
        hung_up = asyncio.ensure_future(reader.read())  # b"" once the server closes
        async with asyncio.timeout(10):
            for byte in head:  # a slowloris client: one byte per 50 ms, 50 s for the head
                writer.write(bytes([byte]))
                await asyncio.wait([hung_up], timeout=0.05)
                if hung_up.done():
                    break
        took = time.monotonic() - started
        writer.close()
    assert hung_up.done() and hung_up.result() == b""
    assert 0.4 < took < 5, f"slow sender held the connection {took:.1f} s"


async def test_slow_body_gets_408_and_is_filed(options, monkeypatch, sign_body, reader):
    monkeypatch.setattr(body, "BODY_TIMEOUT", 0.3)
    async with running(create_app(options), "127.0.0.1", 0) as url:
        host, port = url.removeprefix("http://").split(":")
        sock_reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /voice/event HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b'{"uuid"'
        )
        async with asyncio.timeout(5):
            status_line = await sock_reader.readline()
        writer.close()
        await writer.wait_closed()
    assert status_line.startswith(b"HTTP/1.1 408")
    (filed,) = await reader.rejected()
    assert "not received within" in filed.reason and await reader.count() == 0


@pytest.mark.e2e
async def test_answer_latency_under_event_flood(serve_process, options, sign_body, sign_query):
    """The answer webhook stays fast while hundreds of events per second are being stored."""
    server = serve_process("--quiet", "--signature-secret", options.signature_secret)
    flood = [
        json.dumps({"uuid": f"flood-{i}", "status": "started", "timestamp": str(i)}).encode()
        for i in range(3000)
    ]
    flooding = True
    latencies: list[float] = []

    async def event_flood(http: aiohttp.ClientSession) -> None:
        queue = list(reversed(flood))

        async def worker() -> None:
            while queue:
                body = queue.pop()
                async with http.post("/voice/event", data=body, headers=sign_body(body)) as resp:
                    assert resp.status == 200

        await asyncio.gather(*(worker() for _ in range(48)))

    async def answers(http: aiohttp.ClientSession) -> None:
        i = 0
        while flooding or len(latencies) < 50:
            query = [("to", "442038297050"), ("from", "441234567890"), ("uuid", f"a{i}")]
            i += 1
            headers = sign_query(query)
            started = time.perf_counter()
            async with http.get("/voice/answer", params=query, headers=headers) as resp:
                assert resp.status == 200 and (await resp.json())[0]["action"] == "talk"
            latencies.append(time.perf_counter() - started)

    async with (
        aiohttp.ClientSession(server.url) as flood_http,
        aiohttp.ClientSession(server.url) as answer_http,
    ):
        answering = asyncio.create_task(answers(answer_http))
        flood_started = time.perf_counter()
        await event_flood(flood_http)
        flood_took = time.perf_counter() - flood_started
        flooding = False
        await answering
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"\nanswer latency under a flood of {len(flood)} events "
        f"({len(flood) / flood_took:.0f}/s): p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms over {len(latencies)} answers"
    )
    # Vonage's answer socket timeout is 1-5 s; stay well inside it (generous: no flakes).
    assert p99 < 1000


async def test_client_hanging_up_mid_body_is_not_an_error(options, caplog):
    caplog.set_level(logging.WARNING)
    async with running(create_app(options), "127.0.0.1", 0) as url:
        host, port = url.removeprefix("http://").split(":")
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"POST /voice/event HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    # Leaving `running` waited for the handler: it saw the hang-up and logged nothing.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("vcall")] == []
