"""Run an aiohttp application on a TCP port until cancelled."""

from __future__ import annotations

import asyncio
import errno
import gc
import signal
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from aiohttp import web

try:
    import uvloop
except ImportError:  # not built for Windows: asyncio's own loop
    uvloop = None

from vcall._errors import ConfigError, Conflict

T = TypeVar("T")

#: Seconds a connection may sit without sending a complete request head: from connect, or
#: from its previous response. Slow senders (slowloris) are cut off after it; long responses
#: such as the event stream are not affected.
IDLE_TIMEOUT = 15.0

#: Hooks :func:`running` awaits when the server stops, while it still listens, so that what
#: they do may still reach it (aiohttp's on_shutdown runs after the listener has closed).
BEFORE_STOP = web.AppKey("before_stop", list[Callable[[web.Application], Awaitable[None]]])


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when it is installed: faster sockets on the webhook hot path.

    SIGTERM (``kill``, ``docker stop``, systemd) stops ``main`` as Ctrl-C does: it is
    cancelled, so its clean-up runs, and ``KeyboardInterrupt`` is raised here.
    """
    factory = uvloop.new_event_loop if uvloop is not None else None
    terminated: list[int] = []
    with asyncio.Runner(loop_factory=factory) as runner:
        try:
            return runner.run(_until_terminated(main, terminated))
        except asyncio.CancelledError:
            if terminated:
                raise KeyboardInterrupt from None
            raise


async def _until_terminated(main: Coroutine[Any, Any, T], terminated: list[int]) -> T:
    """Await ``main``; on SIGTERM note it in ``terminated`` and cancel ``main``."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def stop() -> None:
        terminated.append(signal.SIGTERM)
        task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, stop)
    except (ValueError, RuntimeError, NotImplementedError):
        return await main  # not the main thread, or no signals (Windows): as before
    try:
        return await main
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def cannot_listen(error: OSError, host: str, port: int) -> ConfigError | Conflict:
    """Why ``host:port`` cannot be listened on, in one line."""
    if error.errno == errno.EADDRINUSE:
        return Conflict(f"port {port} on {host} is already in use; choose another with --port")
    return ConfigError(f"cannot listen on {host}:{port}: {error.strerror}")


@asynccontextmanager
async def running(
    app: web.Application,
    host: str,
    port: int,
    *,
    ssl_context: ssl.SSLContext | None = None,
    idle_timeout: float = IDLE_TIMEOUT,
    reuse_port: bool = False,
) -> AsyncIterator[str]:
    """Serve ``app`` while the context is open; yields the base URL (port 0 = any free).

    With ``ssl_context`` it serves HTTPS (the sandbox API: the Vonage SDK only speaks https).
    With ``reuse_port`` other processes may listen on the same port (``--workers``).
    """
    # aiohttp arms keepalive_timeout when a connection opens and after each response, and
    # closes the connection if no whole request head has arrived by then: a header timeout.
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, keepalive_timeout=idle_timeout
    )
    await runner.setup()
    try:
        site = web.TCPSite(
            runner, host, port, backlog=1024, ssl_context=ssl_context, reuse_port=reuse_port
        )
        try:
            await site.start()
        except OSError as exc:
            raise cannot_listen(exc, host, port) from None
        bound = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        yield f"{'https' if ssl_context else 'http'}://{shown}:{bound}"
    finally:
        for hook in app.get(BEFORE_STOP, ()):
            await hook(app)
        await runner.cleanup()


async def serve_forever(
    app: web.Application,
    host: str,
    port: int,
    on_ready: Callable[[str], None] | None = None,
    *,
    ssl_context: ssl.SSLContext | None = None,
    around: Callable[[str], AbstractAsyncContextManager[Callable[[], Awaitable[None]]]]
    | None = None,
    reuse_port: bool = False,
) -> None:
    """Serve until the task is cancelled (Ctrl-C); ``on_ready(url)`` runs once listening.

    ``around(url)``, if given, is entered once listening and left before the server stops
    listening (``vcall serve``'s tunnel and webhooks); what it yields is called and awaited
    instead of waiting forever, so it ends the serve by raising.

    Once listening it freezes what start-up made (modules, the SDK's models, the app): those
    objects live as long as the process, and the collector's full collections stop walking
    them again. Under many concurrent webhooks, requests in flight outlive young collections
    often enough to set off full ones, and each walked everything start-up made while the loop
    waited: the events' p99 showed it (bench/webhooks.py at 128 connections).
    """
    async with (
        running(app, host, port, ssl_context=ssl_context, reuse_port=reuse_port) as url,
        around(url) if around is not None else _forever() as until,
    ):
        gc.freeze()
        if on_ready is not None:
            on_ready(url)
        await until()


@asynccontextmanager
async def _forever() -> AsyncIterator[Callable[[], Awaitable[None]]]:
    yield asyncio.Event().wait
