"""Running the sandbox API: in the foreground (``vcall sandbox serve``) or on a background
thread (``vcall setup``, whose SDK calls are synchronous and block the calling thread)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from vcall.sandbox.account import SandboxState
from vcall.sandbox.rest.service import create_sandbox_app
from vcall.serving import running

#: How long a background sandbox may take to start listening.
START_TIMEOUT = 10.0


@dataclass(frozen=True)
class Endpoint:
    """Where a running sandbox listens and the CA certificate that vouches for it."""

    url: str  # https://127.0.0.1:PORT
    ca_cert: Path

    @property
    def host(self) -> str:
        """``host:port``: what ``HttpClientOptions(api_host=…, rest_host=…)`` takes."""
        return urlsplit(self.url).netloc


async def serve(
    state: SandboxState,
    host: str,
    port: int,
    on_ready: Callable[[Endpoint], None] | None = None,
) -> None:
    """Serve the sandbox API over HTTPS until cancelled; ``on_ready(endpoint)`` once up."""
    tls = state.tls()
    async with running(
        create_sandbox_app(state), host, port, ssl_context=tls.server_context()
    ) as url:
        if on_ready is not None:
            on_ready(Endpoint(url, tls.ca_cert))
        await asyncio.Event().wait()


@contextlib.contextmanager
def in_background(
    state: SandboxState, host: str = "127.0.0.1", port: int = 0
) -> Iterator[Endpoint]:
    """Run the sandbox API on a daemon thread with its own event loop while the block runs."""
    ready: concurrent.futures.Future[Endpoint] = concurrent.futures.Future()
    task: asyncio.Task[None] | None = None

    async def main() -> None:
        nonlocal task
        task = asyncio.current_task()
        await serve(state, host, port, ready.set_result)

    def run() -> None:
        # asyncio.run, not a bare loop: it cancels what is left and lets closed sockets
        # finish closing before the loop goes (a bare loop.close() leaks their transports).
        try:
            asyncio.run(main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # start-up failed: hand the error to the caller
            if not ready.done():
                ready.set_exception(exc)

    thread = threading.Thread(target=run, name="vcall-sandbox", daemon=True)
    thread.start()
    try:
        yield ready.result(timeout=START_TIMEOUT)
    finally:
        if task is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                task.get_loop().call_soon_threadsafe(task.cancel)
        thread.join(timeout=START_TIMEOUT)
