"""Making the application's webhooks reach this very ``vcall serve``, for as long as it runs.

:func:`exposed` wraps a listening server:

1. a ``vcall serve`` that died without putting the webhooks back is recovered first;
2. with ``--tunnel``, the tunnel is started and its public URL read (:mod:`vcall.tunnel`);
   with ``--public-url``, that URL is used; in the sandbox, the server's own URL is;
3. the round trip is checked: a request through the public URL must reach this server
   (:func:`vcall.probe.round_trip`), before anything about the application changes;
4. the application's webhooks are pointed there, journaled first (:mod:`vcall.repoint`);
5. on the way out (Ctrl-C, SIGTERM, the tunnel dying, an error) they are put back and the
   tunnel is stopped.

Live without a tunnel or ``--public-url`` nothing is changed: the application's own URL is
tried, and a one-line warning names the command that fixes it when it does not lead here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vcall import journal
from vcall import state as state_file
from vcall._errors import ConfigError, Conflict, TunnelError, VcallError
from vcall.gateway import Gateway, WebhookUrls
from vcall.journal import Lease
from vcall.modes import Mode
from vcall.provision import checked_public_url, connect
from vcall.remote.probe import round_trip
from vcall.repoint import Pointed, base_url, point, recover, restore
from vcall.tunnel import Tunnel

if TYPE_CHECKING:
    from vcall.config import Settings
    from vcall.paths import Paths

#: Seconds a new tunnel gets to start forwarding (cloudflared: "it may take some time").
TUNNEL_REACHABLE_WITHIN = 30.0
#: Seconds a URL given with ``--public-url`` gets.
GIVEN_REACHABLE_WITHIN = 5.0


@dataclass
class Exposure:
    """How Vonage reaches this server while it runs."""

    #: Where the webhooks go (None: live, left as the application has them).
    public_url: str | None
    tunnel: Tunnel | None = None
    pointed: Pointed | None = None
    lines: list[str] = field(default_factory=list)

    async def lost(self) -> None:
        """Wait until the tunnel dies (never, without one); then raise, saying how it ended."""
        if self.tunnel is None:
            await asyncio.Event().wait()
        assert self.tunnel is not None
        code = await self.tunnel.exited()
        raise TunnelError(f"{self.tunnel.why_it_ended(code)}; vcall serve stops")


@contextlib.asynccontextmanager
async def exposed(
    local_url: str,
    instance: str,
    *,
    mode: Mode,
    paths: Paths,
    settings: Settings,
    tunnel: str | None = None,
    public_url: str | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> AsyncIterator[Exposure]:
    """Point the application's webhooks at this server (reached at ``local_url``, named
    ``instance`` on ``/healthz``) while the block runs; put them back after it."""
    if tunnel is not None and public_url is not None:
        raise ConfigError("give --tunnel or --public-url, not both")
    recovery = await asyncio.to_thread(recover, paths, lambda m: connect(m, settings))
    if recovery is not None:
        say(recovery.message)
    exposure = Exposure(checked_public_url(public_url, mode) if public_url else None)
    lease: Lease | None = None
    try:
        if tunnel is not None:
            exposure.tunnel = await Tunnel.start(tunnel, local_url)
            exposure.public_url = exposure.tunnel.url
            say(f"tunnel ({exposure.tunnel.plan.label}): {exposure.public_url} → {local_url}")
        if exposure.public_url is not None:
            within = TUNNEL_REACHABLE_WITHIN if tunnel else GIVEN_REACHABLE_WITHIN
            why = await round_trip(exposure.public_url, instance, within=within)
            if why is not None:
                raise TunnelError(
                    f"{exposure.public_url} does not lead to this vcall serve ({why}); "
                    f"check that it forwards to {local_url}"
                )
            say(f"round trip: {exposure.public_url} reaches this server")
        elif mode == "sandbox":
            exposure.public_url = local_url  # the sandbox is ours: it may call us directly
        saved = state_file.load(paths)
        app_id = saved.get("application_id") if saved.get("mode") == mode else None
        if not app_id:
            if exposure.public_url and exposure.public_url != local_url:
                say(f"no application set up ({mode}): run `vcall setup` to use this URL")
        elif exposure.public_url is None:
            await check_webhooks(app_id, instance, lambda: connect(mode, settings), say)
        else:
            lease = Lease.take(paths)
            if lease is None:
                busy = (
                    "another vcall serve of this folder has pointed the application's webhooks "
                    "at itself"
                )
                if tunnel is None and public_url is None:
                    say(f"Warning: {busy}: calls go there, not here")
                    yield exposure
                    return
                raise Conflict(f"{busy}; stop it first (or use another --profile)")
            exposure.pointed = await asyncio.to_thread(
                _point, paths, settings, mode, app_id, exposure.public_url, exposure.tunnel
            )
            if exposure.pointed is not None:
                say(
                    f"webhooks of application {app_id} point here ({exposure.public_url}) "
                    f"instead of {base_url(exposure.pointed.before)} until vcall serve stops"
                )
        yield exposure
    finally:
        try:
            if exposure.pointed is not None:
                say(await asyncio.to_thread(_restore, paths, settings, mode))
        except VcallError as exc:  # the journal stays: the next command puts them back
            say(
                f"Warning: the webhooks could not be put back now ({exc}); the next "
                "`vcall status`, `vcall serve` or `vcall setup` does it"
            )
        finally:
            if lease is not None:
                lease.release()
            if exposure.tunnel is not None:
                await exposure.tunnel.stop()


def _point(
    paths: Paths,
    settings: Settings,
    mode: Mode,
    app_id: str,
    public_url: str,
    tunnel: Tunnel | None,
) -> Pointed | None:
    described = {"pid": tunnel.pid, "argv": tunnel.plan.argv} if tunnel is not None else None
    with connect(mode, settings) as gateway:
        return point(gateway, paths, app_id, public_url, pid=os.getpid(), tunnel=described)


def _restore(paths: Paths, settings: Settings, mode: Mode) -> str:
    entry = journal.load(paths)
    if entry is None:
        return "webhooks: nothing to put back"
    with connect(mode, settings) as gateway:
        return restore(gateway, paths, entry)


async def check_webhooks(
    app_id: str,
    instance: str,
    open_gateway: Callable[[], AbstractContextManager[Gateway]],
    say: Callable[[str], None],
) -> None:
    """Live, nothing to point: say whether the application's URL leads to this server, and
    if not, in one warning line, the command that fixes it."""

    def hooks() -> WebhookUrls | None:
        with open_gateway() as gateway:
            app = gateway.get_application(app_id)
        return WebhookUrls.of(app) if app else None

    current = await asyncio.to_thread(hooks)
    if current is None:
        say(f"Warning: application {app_id} has no voice webhooks; run `vcall setup --live`")
        return
    url = base_url(current)
    why = await round_trip(url, instance)
    if why is None:
        say(f"webhooks: {url} reaches this server")
    else:
        say(
            f"Warning: the application's webhooks go to {url}, which does not reach this "
            f"server ({why}); run `vcall serve --live --tunnel cloudflared` (or --public-url "
            "URL) to point them here while it runs"
        )
