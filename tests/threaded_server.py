"""A real server on loopback, served from a thread with its own event loop.

For synchronous callers in a test (the CLI through CliRunner, requests, raw sockets): the
thread runs ``asyncio.run``, which also finishes every connection task at the end (a bare
``loop.close()`` right after the server stops leaks the transports it has just closed).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager

from aiohttp import web

from vcall.serving import running


@contextmanager
def serve_in_thread(app: web.Application) -> Iterator[str]:
    """Serve ``app`` on loopback from a thread with its own loop; yields the base URL.

    Synchronous clients (hypothesis, requests, raw sockets) can then hammer a real server.
    The thread runs ``asyncio.run``, which also finishes every connection task at the end.
    """
    started: Future[tuple[str, asyncio.AbstractEventLoop, asyncio.Event]] = Future()

    async def main() -> None:
        stop = asyncio.Event()
        try:
            async with running(app, "127.0.0.1", 0) as url:
                started.set_result((url, asyncio.get_running_loop(), stop))
                await stop.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    url, loop, stop = started.result(timeout=30)
    try:
        yield url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        assert not thread.is_alive(), "server did not stop"
