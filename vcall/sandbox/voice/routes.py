"""The sandbox platform inside ``vcall serve``: ``/sandbox/calls`` and the page socket.

``POST /sandbox/calls`` places a simulated call (body: :class:`~vcall.sandbox.voice.request.CallRequest`
fields, ``from`` for the caller) and answers 201 with the call's summary;
``GET /sandbox/calls/{conversation_uuid}?wait=S`` answers once the call has ended or ``S``
seconds (at most 60) have passed, whichever is first. ``GET /sandbox/rtc`` is the page's
WebSocket (:mod:`vcall.sandbox.voice.rtc`).

:func:`attach` puts the platform on an application and returns these routes; whoever mounts
them puts them behind its guard (``vcall serve``: the page key). In live mode real phones place
the calls: :func:`live_mode` answers every one of :data:`PATHS` with a 409 that says so.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aiohttp import web

from vcall._errors import Conflict, InvalidInput, NotFound
from vcall.sandbox.account import SandboxState
from vcall.sandbox.voice.platform import HANG_UP_GRACE, Platform
from vcall.sandbox.voice.request import CallRequest
from vcall.sandbox.voice.rtc import RtcHub
from vcall.serving import BEFORE_STOP

if TYPE_CHECKING:
    from vcall.paths import Paths

PLATFORM = web.AppKey("platform", Platform)
RTC = web.AppKey("rtc", RtcHub)
#: Longest a status request may wait for a call to end.
MAX_WAIT = 60.0


async def post_call(request: web.Request) -> web.Response:
    """``POST /sandbox/calls``: start a simulated call."""
    try:
        data = json.loads(await request.read() or b"{}")
    except ValueError:
        raise InvalidInput("the call must be a JSON object") from None
    call = await request.app[PLATFORM].place(CallRequest.from_json(data))
    return web.json_response(call.summary(), status=201)


async def call_status(request: web.Request) -> web.Response:
    """``GET /sandbox/calls/{id}``: the call's summary, after waiting up to ``wait`` s."""
    call = request.app[PLATFORM].call(request.match_info["id"])
    if call is None:
        raise NotFound("no such call (calls are kept while vcall serve runs)")
    try:
        wait = min(float(request.query.get("wait", 0)), MAX_WAIT)
    except ValueError:
        raise InvalidInput("'wait' must be a number of seconds") from None
    if wait > 0:
        await call.wait(wait)
    return web.json_response(call.summary())


async def live_mode(request: web.Request) -> web.Response:
    """Sandbox routes while serving live."""
    raise Conflict(
        "vcall serve is in live mode: calls come from real phones (call your Vonage number); "
        "restart it with --sandbox to simulate one"
    )


#: The platform's routes, each answered by :func:`live_mode` when serving live.
PATHS = ("/sandbox/calls", "/sandbox/calls/{id}", "/sandbox/rtc")


def attach(app: web.Application, paths: Paths) -> list[tuple[str, str, web.Handler]]:
    """Put the platform on ``app`` (started and stopped with it); returns its routes as
    ``(method, path, handler)`` for the caller to mount behind its guard."""
    state = SandboxState.open(paths)
    rtc = RtcHub(state)
    app[RTC] = rtc
    app[PLATFORM] = Platform(state, rtc, paths)

    async def platform_ctx(app: web.Application) -> AsyncIterator[None]:
        await app[PLATFORM].start()
        yield
        await app[PLATFORM].close()

    async def end_calls(app: web.Application) -> None:
        # While the listener is still open, so the calls' last events (the caller hangs up)
        # reach this server's event webhook and are stored; and so that no webhook is left
        # in the accept queue: asyncio fails on (and leaks) a socket accepted after its
        # server closed.
        await app[PLATFORM].hang_up_all(grace=HANG_UP_GRACE)

    async def hang_up(app: web.Application) -> None:
        # Calls in progress (and the requests waiting on them) and open page sockets would
        # hold up the server's graceful shutdown, which waits for its connections. Calls are
        # cut off here for servers not run by vcall.serving.running (aiohttp's test
        # server, whose listener is closed by now); none are left after end_calls.
        await app[PLATFORM].hang_up_all()
        await app[RTC].close()

    app.cleanup_ctx.append(platform_ctx)
    app.setdefault(BEFORE_STOP, []).append(end_calls)
    app.on_shutdown.append(hang_up)
    return [
        ("POST", PATHS[0], post_call),
        ("GET", PATHS[1], call_status),
        ("GET", PATHS[2], rtc.handle),
    ]
