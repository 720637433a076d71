"""The users' Client SDK sessions: socket.io at ``/v2/rtc/``, as Vonage's ``ws-*`` hosts serve it.

The SDK opens a socket.io v4 connection (WebSocket transport) with its JWT in the query string
and emits nothing to sign in: the server checks the token (:mod:`.client_auth`) and answers
``session:success``, or sends the refusal as an event (``system:error:expired-token``,
``system:error:invalid-token``, ``user:error:invalid-user``, ``system:error:permission``) and
closes the socket. A signed-in socket is closed when its token expires unless the session was
refreshed first (``PUT /v0.2/sessions/{id}``): the server's socket.io DISCONNECT reaches the SDK
as ``sessionError("EXPIRED_TOKEN")``, which is how Vonage ends one (an engine.io or a transport
close would only make it reconnect). The SDK reports it only for a socket it saw connected
before ``session:success``, so the CONNECT packet is sent first (``always_connect``).

Events from the SDK (acknowledgements, statistics) are accepted and ignored: everything it
asks for goes through the Conversation API (:mod:`.conversation_api`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import socketio
from aiohttp import web

from vcall._errors import Refused
from vcall.sandbox.voice import media
from vcall.sandbox.voice.client_auth import Identity, authenticate
from vcall.sandbox.voice.sdk_messages import not_found, session_success

if TYPE_CHECKING:
    from vcall.sandbox.account import SandboxState
    from vcall.sandbox.voice.ringing import Rings

logger = logging.getLogger("vcall.sandbox.sessions")


class _BadRequestsAreInfo(logging.Filter):
    """engine.io logs the first bad request of each kind (a wrong transport, an unknown
    session…) as an error; they are a client's bad input, answered 400, so INFO here."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and "further occurrences" in record.getMessage():
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_engine_logger = logging.getLogger("vcall.sandbox.socket")
_engine_logger.addFilter(_BadRequestsAreInfo())

#: The socket's path, as the SDK's ``websocketPath`` default has it.
SOCKET_PATH = "/v2/rtc/"
#: The query parameter the platform's stand-in signs in with (not the SDK's).
HEADLESS = "vcall_stand_in"
#: Largest socket message a client may send (the SDK's are a few hundred bytes).
MAX_MESSAGE = 16 * 1024


class Session:
    """One signed-in socket: a device of its user that calls can ring."""

    def __init__(
        self,
        sessions: ClientSessions,
        sid: str,
        session_id: str,
        identity: Identity,
        headless: bool = False,
    ) -> None:
        self.id = session_id
        #: The platform's own stand-in: rung only by the call it was made for.
        self.headless = headless
        self.sid = sid
        self.identity = identity
        self.user_id = identity.user_id
        self._sessions = sessions
        self._expiry: asyncio.TimerHandle | None = None

    async def emit(self, event: str, message: dict[str, Any]) -> None:
        """Send one event; a session that has gone away misses it, as a closed tab would."""
        with contextlib.suppress(ConnectionError, RuntimeError, KeyError):
            await self._sessions.sio.emit(event, message, to=self.sid)

    def expire_at(self, exp: float) -> None:
        """Close the socket at ``exp`` unless the session is refreshed before then."""
        if self._expiry is not None:
            self._expiry.cancel()
        loop = asyncio.get_running_loop()
        self._expiry = loop.call_later(max(0.0, exp - time.time()), self._expire)

    def _expire(self) -> None:
        self._sessions.spawn(self._sessions.sio.disconnect(self.sid))

    def stop(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()


class ClientSessions:
    """The socket.io server and the sessions signed in on it, by id and by user."""

    def __init__(self, state: SandboxState, rings: Rings) -> None:
        self.state = state
        self.rings = rings
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            transports=["websocket"],
            # CONNECT before session:success, as socket.io servers in Node send it (see above).
            always_connect=True,
            # The Origin is checked by the page key's guard in front of the socket.
            cors_allowed_origins=[],
            max_http_buffer_size=MAX_MESSAGE,
            logger=False,
            engineio_logger=_engine_logger,
        )
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self.sio.on("*", self._ignore)
        self._by_sid: dict[str, Session] = {}
        self._by_id: dict[str, Session] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /v2/rtc/``: the socket (the page key and Origin are checked in front)."""
        response: web.StreamResponse = await self.sio.handle_request(request)
        return response

    def of_user(self, user_id: str) -> list[Session]:
        """The user's sessions signed in now (the pages; not the platform's stand-ins)."""
        return [s for s in self._by_id.values() if s.user_id == user_id and not s.headless]

    def signed_in(self, application_id: str, names: Iterable[str]) -> int:
        """How many sessions are signed in as these users of the application."""
        wanted = set(names)
        return sum(
            1
            for s in self._by_id.values()
            if s.identity.application_id == application_id
            and s.identity.user_name in wanted
            and not s.headless
        )

    def __contains__(self, session_id: object) -> bool:
        """Whether the session is signed in now."""
        return session_id in self._by_id

    def session(self, session_id: str) -> Session:
        """A signed-in session by id (the platform's own stand-in's)."""
        return self._by_id[session_id]

    def get(self, session_id: object, identity: Identity) -> Session:
        """The session ``identity`` names as its ``originating_session``; 404 if not its own."""
        session = self._by_id.get(session_id) if isinstance(session_id, str) else None
        if session is None or session.user_id != identity.user_id:
            raise not_found("session")
        return session

    def refresh(self, session_id: str, identity: Identity) -> None:
        """``PUT /v0.2/sessions/{id}``: the session lives on until the new token's ``exp``."""
        session = self.get(session_id, identity)
        session.identity = identity
        session.expire_at(identity.expires)

    def spawn(self, coroutine: Any) -> None:
        """Run ``coroutine`` in the background, kept until done (the loop keeps weak refs)."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        token = query.get("token", [""])[0]
        session_id = f"SESSION-{uuid.uuid4()}"
        try:
            identity = authenticate(self.state, token)
            # A session is a resource under /sessions, as the ACL presets name it.
            identity.require("POST", f"/v0.2/sessions/{session_id}")
        except Refused as exc:
            # The SDK reads the refusal from an event; then the socket goes.
            logger.info("session refused: %s", exc)
            await self.sio.emit(exc.code or "system:error:invalid-token", {}, to=sid)
            self.spawn(self.sio.disconnect(sid))
            return
        session = Session(self, sid, session_id, identity, HEADLESS in query)
        self._by_sid[sid] = session
        self._by_id[session.id] = session
        session.expire_at(identity.expires)
        self.spawn(media.preload())
        api_key = self.state.account.api_key
        await session.emit(
            "session:success",
            session_success(session.id, identity.user_id, identity.user_name, api_key),
        )
        # Signing in while a call rings: Vonage sends the invite to the new session too.
        for ring in [] if session.headless else self.rings.of_user(identity.user_id):
            await ring.add(session)

    async def _disconnect(self, sid: str, *reason: Any) -> None:
        session = self._by_sid.pop(sid, None)
        if session is None:
            return
        self._by_id.pop(session.id, None)
        session.stop()
        for ring in self.rings.of_user(session.user_id):
            await ring.gone(session)

    async def _ignore(self, event: str, sid: str, *data: Any) -> None:
        """Events the SDK emits (acknowledgements, statistics) need no answer here."""

    async def close(self) -> None:
        """Close every socket (the server is stopping)."""
        for sid in list(self._by_sid):
            await self.sio.disconnect(sid)
        # And their transports: the server's shutdown waits for every open WebSocket.
        if self.sio.eio.sockets:  # (it fails on none)
            await self.sio.eio.disconnect()
        for task in list(self._tasks):
            task.cancel()
        await self.sio.shutdown()
