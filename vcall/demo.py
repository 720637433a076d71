"""``vcall demo``: the sandbox set up, ``vcall serve`` running and a whole call played, in
one process.

The server listens first, so the application's webhooks can point at the address it really
got; then ``vcall setup`` runs against the embedded sandbox (idempotent: a second demo only
reads), the server announces itself like ``vcall serve`` (so ``vcall call`` finds it), and
the simulated platform places a call that a headless Alice answers and hangs up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vcall.modes import sandbox_secret
from vcall.paths import Paths
from vcall.provision import SetupResult, run_setup
from vcall.remote import discovery
from vcall.sandbox.voice.request import CallRequest
from vcall.sandbox.voice.routes import PLATFORM
from vcall.serving import running
from vcall.web.app import ServeOptions, create_app


@dataclass(frozen=True)
class DemoReady:
    """What the demo tells the person once everything is up."""

    url: str
    page_url: str
    setup: SetupResult


async def run_demo(
    port: int,
    call: CallRequest | None,
    *,
    keep_serving: bool,
    on_ready: Callable[[DemoReady], None],
    on_call: Callable[[dict[str, Any]], None],
) -> None:
    """Serve on ``port``, set up the sandbox, place ``call`` (if any), then serve on or stop."""
    paths = Paths.default()
    secret = await asyncio.to_thread(sandbox_secret, paths)
    options = ServeOptions(
        store=paths.events_db,
        page_key=discovery.page_key(paths),
        # The sandbox signs every webhook: check them, as a live deployment should.
        signature_secret=secret,
        sandbox=True,
        paths=paths,
    )
    app = create_app(options)
    async with running(app, "127.0.0.1", port) as url:
        discovery.announce(paths, url, options.page_key)
        try:
            result = await asyncio.to_thread(run_setup, mode="sandbox", public_url=url)
            on_ready(DemoReady(url, f"{url}/?key={options.page_key}", result))
            if call is not None:
                placed = await app[PLATFORM].place(call, origin=url)
                await placed.wait(None)
                on_call(placed.summary())
            if keep_serving:
                await asyncio.Event().wait()
        finally:
            discovery.withdraw(paths)
