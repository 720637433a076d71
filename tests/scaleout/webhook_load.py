"""Loading vcall serve instances with event webhooks, what came back, and what a tail saw."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import aiohttp
from serve_process import ServeProcess

from vcall.remote.follow import Source, follow

#: Generous bound for anything that should happen "at once" on a busy 2-core machine.
DEADLINE = 30.0
#: Serve the plain webhook path: real calls (no sandbox), unsigned, no line per webhook.
PLAIN = ("--live", "--no-verify", "--quiet")


def body(n: int, prefix: str = "leg") -> bytes:
    """A distinct event (uuid, status and timestamp make each one new)."""
    return json.dumps(
        {
            "uuid": f"{prefix}-{n:06d}",
            "status": "answered",
            "conversation_uuid": f"CON-{n // 7:05d}",
            "timestamp": f"2026-01-01T00:00:00.{n:06d}Z",
        }
    ).encode()


@dataclass
class Delivered:
    """What a load run got back: the event ids acknowledged, every status and problem."""

    acked: dict[bytes, int] = field(default_factory=dict)
    duplicates: int = 0
    statuses: list[int] = field(default_factory=list)
    #: 503s without a Retry-After, timeouts, connection failures: "what went wrong", in words.
    problems: list[str] = field(default_factory=list)


async def deliver(
    urls: Sequence[str],
    bodies: Sequence[bytes],
    *,
    connections: int = 16,
    on_ack: Callable[[int], None] | None = None,
    timeout: float = 10.0,
) -> Delivered:
    """POST every body to /voice/event with ``connections`` in flight, spread over ``urls``
    (connection i always to ``urls[i % len(urls)]``)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for raw in bodies:
        queue.put_nowait(raw)
    out = Delivered()

    async def worker(http: aiohttp.ClientSession, url: str) -> None:
        while not queue.empty():
            raw = queue.get_nowait()
            try:
                async with http.post(url + "/voice/event", data=raw) as resp:
                    answer = await resp.json(content_type=None)
                    out.statuses.append(resp.status)
                    if resp.status == 200 and answer.get("duplicate"):
                        out.duplicates += 1
                    elif resp.status == 200:
                        out.acked[raw] = answer["id"]
                        if on_ack is not None:
                            on_ack(len(out.acked))
                    elif resp.status == 503 and "Retry-After" not in resp.headers:
                        out.problems.append("a 503 without Retry-After")
            except TimeoutError:
                out.problems.append(f"no answer in {timeout:g} s")
            except (aiohttp.ClientError, OSError) as exc:
                out.problems.append(f"{type(exc).__name__}: {exc}")

    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(timeout=client_timeout) as http:
        await asyncio.gather(*(worker(http, urls[i % len(urls)]) for i in range(connections)))
    return out


@contextlib.asynccontextmanager
async def tailing(server: ServeProcess) -> AsyncIterator[list[int]]:
    """The ids a tail on ``server`` sees, from the first event stored on, as it sees them."""
    seen: list[int] = []

    async def tail() -> None:
        async for item in follow(lambda: Source(server.url, server.key), since=0):
            seen.append(item.id)

    following = asyncio.create_task(tail())
    try:
        yield seen
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following


async def until_seen(seen: list[int], count: int) -> None:
    """Wait (DEADLINE at most) until the tail has seen ``count`` events."""
    async with asyncio.timeout(DEADLINE):
        while len(seen) < count:
            await asyncio.sleep(0.05)  # polling, with asyncio.timeout as the deadline
