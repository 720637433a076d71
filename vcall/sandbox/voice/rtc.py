"""The sandbox's stand-in for Vonage's RTC service: how a call rings an app user.

- :class:`Ring` — one app leg offered to a user's devices; the first to answer (or refuse)
  decides, the others are told the invite is gone.
- A *device* takes calls: a page signed in over the WebSocket (:class:`PageSession`) or
  the headless :class:`StandIn` that plays a chosen outcome for scripts and CI.
- :class:`RtcHub` — the pages signed in, by user, and the ``/sandbox/rtc`` WebSocket.

The page's sandbox transport speaks JSON over that socket. Requests carry an ``id`` and get
a reply with the same ``id``; the rest are events named as the browser SDK's::

    page → hub   {"id": 1, "type": "session", "token": JWT}    reply {"type": "session:success",
                                                                       "body": {id, user_id, name}}
                 {"id": 2, "type": "refresh", "token": JWT}
                 {"id": 3, "type": "answer" | "reject" | "hangup", "callId": LEG}
    hub → page   {"type": "callInvite", "callId", "from", "channelType"}
                 {"type": "callInviteCancel", "callId", "reason"}
                 {"type": "callHangup", "callId", "quality", "reason"}
                 {"type": "legStatusUpdate", "callId", "legId", "status"}
                 {"type": "sessionError", "reason": "EXPIRED_TOKEN"}
    errors       {"id": n, "type": "error", "code": "session:error:invalid-token", "message"}

A session is opened with the same JWT the live SDK would send Vonage (RS256, signed with
the application's private key), verified against the public key the sandbox application
holds, so a page that works here signs in live with the same token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, Protocol

import jwt
from aiohttp import WSMsgType, web

from vcall._errors import SessionRefused

if TYPE_CHECKING:
    from collections.abc import Sequence

    from vcall.sandbox.account import SandboxState

logger = logging.getLogger("vcall.sandbox.voice.rtc")

#: Largest message a page may send (they are a few hundred bytes).
MAX_MESSAGE = 16 * 1024


class Device(Protocol):
    """Something that can be rung: it hears about the leg and answers through the Ring."""

    async def invite(self, ring: Ring) -> None:
        """The leg starts ringing here."""

    async def cancelled(self, ring: Ring, reason: str) -> None:
        """The invite is gone (``RemoteCancel``, ``RemoteTimeout``, ``AnsweredElsewhere``…)."""

    async def hung_up(self, ring: Ring, reason: str) -> None:
        """The other side ended the answered call (``REMOTE_HANGUP``)."""

    async def leg_status(self, ring: Ring, status: str) -> None:
        """The app leg's status changed (``ANSWERED``, ``COMPLETED``)."""


class Ring:
    """One app leg ringing a user's devices, and what they decided.

    ``state`` goes ``ringing`` → ``answered`` → ``completed``, or ends at ``rejected``,
    ``busy``, ``failed`` (a device refused), ``cancelled`` or ``timeout`` (the platform
    withdrew the invite). Every transition is checked, so late or duplicate replies from a
    second page are refused rather than double-counted.
    """

    def __init__(self, leg_id: str, caller: str, devices: Sequence[Device]) -> None:
        self.leg_id = leg_id
        self.caller = caller
        self.devices = list(devices)
        self.state = "ringing"
        self.answered_by: Device | None = None
        loop = asyncio.get_running_loop()
        self._decided: asyncio.Future[str] = loop.create_future()
        self._user_hung_up: asyncio.Future[None] = loop.create_future()

    async def offer(self) -> None:
        """Send the invite to every device."""
        for device in self.devices:
            await device.invite(self)

    # -- what devices do --------------------------------------------------------------------

    async def answer(self, device: Device) -> bool:
        """``device`` takes the call; False when it is no longer ringing."""
        if self.state != "ringing":
            return False
        self.state, self.answered_by = "answered", device
        self._decided.set_result("answered")
        await self._tell_others(device, "AnsweredElsewhere")
        await device.leg_status(self, "ANSWERED")
        return True

    async def refuse(self, device: Device, status: str = "rejected") -> bool:
        """``device`` declines (``rejected``), or reports ``busy`` / ``failed``."""
        if self.state != "ringing":
            return False
        self.state = status
        self._decided.set_result(status)
        await self._tell_others(device, "RejectedElsewhere")
        return True

    async def hang_up(self, device: Device) -> bool:
        """The device that answered ends the call."""
        if self.state != "answered" or device is not self.answered_by:
            return False
        self.state = "completed"
        self._user_hung_up.set_result(None)
        await device.leg_status(self, "COMPLETED")
        return True

    # -- what the platform does ---------------------------------------------------------------

    async def decision(self, timeout: float) -> str | None:
        """The first device's decision, or None if none came within ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(self._decided), timeout)
        return None

    async def withdraw(self, reason: str) -> bool:
        """Stop ringing (``RemoteCancel``: caller hung up; ``RemoteTimeout``: no answer).

        False when a device decided first; ``state`` then says what it decided.
        """
        if self.state != "ringing":
            return False
        self.state = "cancelled" if reason == "RemoteCancel" else "timeout"
        self._decided.set_result(self.state)
        for device in self.devices:
            await device.cancelled(self, reason)
        return True

    async def user_hung_up(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the user to hang up; True if they did."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._user_hung_up), timeout)
            return True
        return False

    async def end(self, reason: str = "REMOTE_HANGUP") -> None:
        """The caller (or a limit) ended the answered call: tell the user's device."""
        if self.state != "answered" or self.answered_by is None:
            return
        self.state = "completed"
        await self.answered_by.leg_status(self, "COMPLETED")
        await self.answered_by.hung_up(self, reason)

    async def _tell_others(self, chosen: Device, reason: str) -> None:
        for device in self.devices:
            if device is not chosen:
                await device.cancelled(self, reason)


class StandIn:
    """A headless app user that plays one outcome, so calls can run with no browser.

    ``answered``: picks up after ``answer_after`` seconds and hangs up ``hold`` seconds
    later; ``rejected``/``busy``/``failed``: refuses after ``answer_after``;
    ``timeout``/``cancelled``: never picks up (the platform's timers decide).
    """

    def __init__(self, outcome: str, answer_after: float, hold: float) -> None:
        self.outcome = outcome
        self.answer_after = answer_after
        self.hold = hold
        self._task: asyncio.Task[None] | None = None

    async def invite(self, ring: Ring) -> None:
        if self.outcome not in ("timeout", "cancelled"):
            self._task = asyncio.create_task(self._play(ring))

    async def _play(self, ring: Ring) -> None:
        await asyncio.sleep(self.answer_after)
        if self.outcome != "answered":
            await ring.refuse(self, self.outcome)
        elif await ring.answer(self):
            await asyncio.sleep(self.hold)
            await ring.hang_up(self)

    async def cancelled(self, ring: Ring, reason: str) -> None:
        self.stop()

    async def hung_up(self, ring: Ring, reason: str) -> None:
        self.stop()

    async def leg_status(self, ring: Ring, status: str) -> None:
        """The stand-in has no screen to update."""

    def stop(self) -> None:
        """Forget whatever it was about to do."""
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()


class PageSession:
    """One page signed in over the WebSocket: a device for its user."""

    def __init__(self, hub: RtcHub, ws: web.WebSocketResponse) -> None:
        self.hub = hub
        self.ws = ws
        self.user: str | None = None
        self.id = f"SESSION-{uuid.uuid4()}"
        self._expiry: asyncio.Task[None] | None = None

    async def send(self, message: dict[str, Any]) -> None:
        """Send if the socket is still open (a page may vanish at any time)."""
        if self.ws.closed:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_json(message)

    async def invite(self, ring: Ring) -> None:
        await self.send(
            {
                "type": "callInvite",
                "callId": ring.leg_id,
                "from": ring.caller,
                "channelType": "phone",
            }
        )

    async def cancelled(self, ring: Ring, reason: str) -> None:
        await self.send({"type": "callInviteCancel", "callId": ring.leg_id, "reason": reason})

    async def hung_up(self, ring: Ring, reason: str) -> None:
        await self.send(
            {"type": "callHangup", "callId": ring.leg_id, "quality": {}, "reason": reason}
        )

    async def leg_status(self, ring: Ring, status: str) -> None:
        await self.send(
            {
                "type": "legStatusUpdate",
                "callId": ring.leg_id,
                "legId": ring.leg_id,
                "status": status,
            }
        )

    def expire_at(self, exp: float) -> None:
        """Sign the page out with ``EXPIRED_TOKEN`` at ``exp`` unless it refreshes first."""
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = asyncio.create_task(self._expire(exp))

    async def _expire(self, exp: float) -> None:
        await asyncio.sleep(max(0.0, exp - time.time()))
        self.hub.sign_out(self)
        await self.send({"type": "sessionError", "reason": "EXPIRED_TOKEN"})

    def close(self) -> None:
        """Stop the expiry timer."""
        if self._expiry is not None:
            self._expiry.cancel()


class RtcHub:
    """The pages signed in to the sandbox, by user, and the rings they can act on."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._pages: dict[str, set[PageSession]] = {}
        self._rings: dict[str, Ring] = {}
        self._sockets: set[web.WebSocketResponse] = set()

    def devices(self, user: str) -> list[Device]:
        """The pages ``user`` is signed in on now."""
        return list(self._pages.get(user, ()))

    def track(self, ring: Ring) -> None:
        """Let pages answer/reject/hang up ``ring`` by its leg id."""
        self._rings[ring.leg_id] = ring

    def untrack(self, ring: Ring) -> None:
        self._rings.pop(ring.leg_id, None)

    def sign_out(self, page: PageSession) -> None:
        """Ring ``page`` no more."""
        if page.user is not None:
            self._pages.get(page.user, set()).discard(page)
            page.user = None

    def authenticate(self, token: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The claims of a page's JWT and its user record; raises SessionRefused."""
        if not isinstance(token, str) or not token:
            raise SessionRefused("session:error:empty-token", "no token")
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise SessionRefused("session:error:invalid-token", f"not a JWT: {exc}") from None
        app_id = unverified.get("application_id")
        app = self.state.application(app_id) if isinstance(app_id, str) else None
        public_key = (app or {}).get("keys", {}).get("public_key")
        if not public_key:
            raise SessionRefused(
                "session:error:invalid-token", "the token's application_id is not a sandbox app"
            )
        try:
            claims = jwt.decode(
                token,
                public_key,
                algorithms=["RS256"],
                options={"require": ["exp", "iat", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise SessionRefused("session:error:expired-token", "the token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise SessionRefused("session:error:invalid-token", f"token refused: {exc}") from None
        user = self.state.user_by_name(str(claims["sub"]), app_id)
        if user is None:
            raise SessionRefused(
                "session:error:invalid-user", f"no user {claims['sub']!r} in application {app_id}"
            )
        return claims, user

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """``GET /sandbox/rtc``: the page's socket (whoever mounts it checks who may open it:
        ``vcall serve`` the page key and Origin)."""
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE, heartbeat=30)
        await ws.prepare(request)
        page = PageSession(self, ws)
        self._sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._on_message(page, msg.data)
        finally:
            self._sockets.discard(ws)
            self.sign_out(page)
            page.close()
            # A page that closes mid-call has hung up.
            for ring in list(self._rings.values()):
                if ring.answered_by is page:
                    await ring.hang_up(page)
        return ws

    async def _on_message(self, page: PageSession, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            await page.send({"type": "error", "code": "bad-request", "message": "not JSON"})
            return
        rid, kind = data.get("id"), data.get("type")
        try:
            reply = await self._dispatch(page, kind, data)
        except SessionRefused as exc:
            reply = {"type": "error", "code": exc.code, "message": str(exc)}
        await page.send({"id": rid, **reply})

    async def _dispatch(self, page: PageSession, kind: Any, data: dict[str, Any]) -> dict[str, Any]:
        if kind in ("session", "refresh"):
            claims, user = self.authenticate(data.get("token"))
            if kind == "refresh" and claims["sub"] != page.user:
                raise SessionRefused("session:error:invalid-user", "refresh is for another user")
            if page.user is None:
                page.user = str(claims["sub"])
                self._pages.setdefault(page.user, set()).add(page)
            page.expire_at(float(claims["exp"]))
            if kind == "refresh":
                return {"type": "ok"}
            body = {"id": page.id, "user_id": user.get("id"), "name": user.get("name")}
            return {"type": "session:success", "body": body}
        if page.user is None:
            raise SessionRefused("session:error:no-active-session", "create a session first")
        ring = self._rings.get(str(data.get("callId")))
        if ring is None or page not in ring.devices:
            return {"type": "error", "code": "call-not-found", "message": "no such call here"}
        actions = {"answer": ring.answer, "reject": ring.refuse, "hangup": ring.hang_up}
        if kind not in actions:
            return {"type": "error", "code": "bad-request", "message": f"unknown type {kind!r}"}
        if not await actions[kind](page):
            return {"type": "error", "code": "invalid-state", "message": f"call is {ring.state}"}
        return {"type": "ok"}

    async def close(self) -> None:
        """Close every page socket (server shutdown)."""
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"server shutting down")
