"""The sandbox platform inside ``vcall serve``: ``/sandbox/calls``, and the Client SDK's side.

``POST /sandbox/calls`` places a simulated call (body: :class:`~vcall.sandbox.voice.request.CallRequest`
fields, ``from`` for the caller) and answers 201 with the call's summary;
``GET /sandbox/calls/{conversation_uuid}?wait=S`` answers once the call has ended or ``S``
seconds (at most 60) have passed, whichever is first. ``GET /v2/rtc/`` is the Client SDK's
socket (:mod:`.client_sessions`), and the Conversation API routes it calls are
:mod:`.conversation_api`'s: the page runs the real SDK against this server.

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
from vcall.sandbox.voice.client_sessions import SOCKET_PATH, ClientSessions
from vcall.sandbox.voice.conversation_api import ConversationApi
from vcall.sandbox.voice.platform import HANG_UP_GRACE, Platform
from vcall.sandbox.voice.request import CallRequest
from vcall.sandbox.voice.ringing import Rings
from vcall.serving import BEFORE_STOP

if TYPE_CHECKING:
    from vcall.paths import Paths

PLATFORM = web.AppKey("platform", Platform)
SESSIONS = web.AppKey("client_sessions", ClientSessions)
#: Longest a status request may wait for a call to end.
MAX_WAIT = 60.0


async def post_call(request: web.Request) -> web.Response:
    """``POST /sandbox/calls``: start a simulated call."""
    try:
        data = json.loads(await request.read() or b"{}")
    except ValueError:
        raise InvalidInput("the call must be a JSON object") from None
    call = await request.app[PLATFORM].place(CallRequest.from_json(data), origin=_origin(request))
    return web.json_response(call.summary(), status=201)


def _origin(request: web.Request) -> str:
    """This server, as reached over the connection the request came on (the stand-in of a
    call with an outcome signs in to it there, as a page would)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not isinstance(sockname, tuple):
        return str(request.url.origin())
    host, port = sockname[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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


#: The platform's routes, each answered by :func:`live_mode` when serving live (the Client
#: SDK's are Vonage's then, on its own hosts).
PATHS = ("/sandbox/calls", "/sandbox/calls/{id}")


def attach(app: web.Application, paths: Paths, page_key: str) -> list[tuple[str, str, web.Handler]]:
    """Put the platform on ``app`` (started and stopped with it); returns its routes as
    ``(method, path, handler)`` for the caller to mount behind its guard (the page key, which
    the headless stand-in presents like a page)."""
    state = SandboxState.open(paths)
    rings = Rings()
    sessions = ClientSessions(state, rings)
    app[SESSIONS] = sessions
    app[PLATFORM] = Platform(state, sessions, paths, page_key)

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
        # Calls in progress (and the requests waiting on them) and open SDK sockets would
        # hold up the server's graceful shutdown, which waits for its connections. Calls are
        # cut off here for servers not run by vcall.serving.running (aiohttp's test
        # server, whose listener is closed by now); none are left after end_calls.
        await app[PLATFORM].hang_up_all()
        await app[SESSIONS].close()

    app.cleanup_ctx.append(platform_ctx)
    app.setdefault(BEFORE_STOP, []).append(end_calls)
    app.on_shutdown.append(hang_up)
    return [
        ("POST", PATHS[0], post_call),
        ("GET", PATHS[1], call_status),
        ("GET", SOCKET_PATH, sessions.handle),
        *ConversationApi(state, sessions, rings).routes(),
    ]
