"""The Conversation API requests the Client SDK makes for a call, as Vonage's ``api-*`` hosts
answer them.

===============================================  ============================================
``GET /v0.3/conversations/{cid}``                 the conversation (INACTIVE once the leg ended)
``PUT /v0.3/conversations/{cid}/members/{mid}``   ``state: joined``: the session picks up
``POST /v0.3/conversations/{cid}/rtc/{leg}/answer``  its SDP answer: the media connects
``DELETE /v0.2/conversations/{cid}/members/{mid}``   reject (while ringing) or hang up
``PUT /v0.2/sessions/{id}``                       refresh: the new JWT in ``Authorization``
===============================================  ============================================

Each request carries the user's JWT (``Authorization: bearer …``), checked as the socket checks
it, with the ACL covering the request's path. Answers are what the SDK parses: a JSON object,
or an empty body where it expects no result (a JSON body there fails its parser). Refusals are
401 (any token problem: the SDK's authorization error) or a 4xx with a Conversation API error
(``code``, ``title``, ``detail``); never a 5xx for anything a client sends.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from vcall._errors import InvalidParameter, VcallError
from vcall.sandbox.voice.client_auth import Identity, authenticate
from vcall.sandbox.voice.sdk_messages import error_body, not_found

if TYPE_CHECKING:
    from vcall.sandbox.account import SandboxState
    from vcall.sandbox.voice.client_sessions import ClientSessions
    from vcall.sandbox.voice.ringing import Rings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class Afterwards:
    """An empty 200, then ``then()`` once it has been sent."""

    then: Callable[[], Awaitable[None]]


class ConversationApi:
    """The routes above, over the rings in progress and the sessions signed in."""

    def __init__(self, state: SandboxState, sessions: ClientSessions, rings: Rings) -> None:
        self.state = state
        self.sessions = sessions
        self.rings = rings

    def routes(self) -> list[tuple[str, str, Handler]]:
        """``(method, path, handler)`` for each route, for the server to mount."""
        return [
            ("GET", "/v0.3/conversations/{cid}", self._answering(self.conversation)),
            ("PUT", "/v0.3/conversations/{cid}/members/{mid}", self._answering(self.join)),
            ("POST", "/v0.3/conversations/{cid}/rtc/{leg}/answer", self._answering(self.answer)),
            ("DELETE", "/v0.2/conversations/{cid}/members/{mid}", self._answering(self.leave)),
            ("PUT", "/v0.2/sessions/{sid}", self._answering(self.refresh)),
        ]

    def _answering(self, handler: Callable[[web.Request, Identity], Awaitable[Any]]) -> Handler:
        """``handler`` behind the JWT check; its result as JSON (None: an empty body)."""

        async def answered(request: web.Request) -> web.StreamResponse:
            try:
                identity = self._identity(request)
                result = await handler(request, identity)
            except VcallError as exc:
                return web.json_response(error_body(exc), status=exc.status, headers=_NO_STORE)
            if isinstance(result, Afterwards):
                # Answer first, then tell the others (see Ring.leave).
                response = web.Response(status=200, headers=_NO_STORE)
                await response.prepare(request)
                await response.write_eof()
                await result.then()
                return response
            if result is None:
                return web.Response(status=200, headers=_NO_STORE)
            return web.json_response(result, headers=_NO_STORE)

        answered.__name__ = answered.__qualname__ = handler.__name__
        answered.__doc__ = handler.__doc__
        return answered

    def _identity(self, request: web.Request) -> Identity:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        identity = authenticate(self.state, token.strip() if scheme.lower() == "bearer" else "")
        identity.require(request.method, request.path)
        return identity

    async def conversation(self, request: web.Request, identity: Identity) -> Any:
        """``GET /v0.3/conversations/{cid}``."""
        ring = self.rings.find(request.match_info["cid"], identity.user_id)
        return ring.leg.conversation(ring.created, ring.active)

    async def join(self, request: web.Request, identity: Identity) -> Any:
        """``PUT /v0.3/conversations/{cid}/members/{mid}``: ``{"state": "joined", …}``."""
        ring = self.rings.find(request.match_info["cid"], identity.user_id)
        body = await _json_object(request)
        if request.match_info["mid"] != ring.leg.member_id:
            raise not_found("member")
        if body.get("state") != "joined":
            raise InvalidParameter("state", "only 'joined' is supported here")
        session = self.sessions.get(body.get("originating_session"), identity)
        if not ring.rang(session):
            raise not_found("member")
        await ring.join(session)
        return {"id": ring.leg.member_id}

    async def answer(self, request: web.Request, identity: Identity) -> Any:
        """``POST /v0.3/conversations/{cid}/rtc/{leg}/answer``: ``{"body": {"answer": SDP}}``."""
        ring = self.rings.find(request.match_info["cid"], identity.user_id)
        body = await _json_object(request)
        if request.match_info["leg"] != ring.leg.leg_id:
            raise not_found("leg")
        session = self.sessions.get(body.get("originating_session"), identity)
        inner = body.get("body")
        await ring.answer(session, inner.get("answer") if isinstance(inner, dict) else None)
        return {"id": ring.leg.leg_id}

    async def leave(self, request: web.Request, identity: Identity) -> Any:
        """``DELETE /v0.2/conversations/{cid}/members/{mid}?reason_code=…``: an empty 200."""
        ring = self.rings.find(request.match_info["cid"], identity.user_id)
        if request.match_info["mid"] != ring.leg.member_id:
            raise not_found("member")
        then = await ring.leave(ring.joined_by, request.query.get("reason_code", ""))
        return Afterwards(then)

    async def refresh(self, request: web.Request, identity: Identity) -> Any:
        """``PUT /v0.2/sessions/{sid}``: the session now lasts as long as the new token."""
        self.sessions.refresh(request.match_info["sid"], identity)
        return {"session_id": request.match_info["sid"]}


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("body", "must be a JSON object") from None
    if not isinstance(body, dict):
        raise InvalidParameter("body", "must be a JSON object")
    return body
