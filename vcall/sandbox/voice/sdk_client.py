"""The Vonage Client SDK's protocol spoken from Python: what a page does, without a browser.

:class:`SdkClient` signs in over socket.io with a user's JWT and answers, rejects and hangs up
through the Conversation API, with a real WebRTC peer (:mod:`.media`) for the audio, exactly
as the browser SDK does against the sandbox (or Vonage). The headless stand-in
(:mod:`.stand_in`) is one; the protocol tests drive others.

It reaches ``vcall serve`` as a page does, so it carries the page key (in the query string:
its ``Authorization`` header is the JWT's, as the SDK's is).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlencode

import aiohttp
import socketio

from vcall._errors import SessionRefused, coded, for_answer
from vcall.sandbox.voice.client_sessions import HEADLESS, SOCKET_PATH
from vcall.sandbox.voice.media import Peer

#: The events that end a sign-in attempt with a refusal, as the SDK maps them.
REFUSALS = {
    "system:error:expired-token": "session:error:expired-token",
    "system:error:invalid-token": "session:error:invalid-token",
    "user:error:invalid-user": "session:error:invalid-token",
    "system:error:permission": "system:error:permission",
    "session:error:max-open-sessions": "session:error:max-open-sessions",
}
#: Seconds the SDK waits for ``session:success`` before giving up.
SESSION_TIMEOUT = 5.0
#: Seconds ``answer`` waits for the media to connect (the SDK's promise waits for it too).
MEDIA_TIMEOUT = 10.0


class SdkClient:
    """One signed-in device of a user, talking to ``origin`` (``http://host:port``).

    Every socket event is queued in :attr:`events` as ``(name, message)``; the SDK's own
    reactions (``callInvite`` …) are left to whoever reads them.
    """

    def __init__(self, origin: str, page_key: str, *, headless: bool = False) -> None:
        self.origin = origin.rstrip("/")
        self.page_key = page_key
        self.headless = headless
        self.events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.session_id: str | None = None
        self.user_id: str | None = None
        self.token = ""
        self.disconnected = asyncio.Event()
        self.peer: Peer | None = None
        self._http: aiohttp.ClientSession | None = None
        self._sio: socketio.AsyncClient | None = None

    async def create_session(self, token: str) -> str:
        """Sign in; the session id, or :class:`~vcall._errors.SessionRefused` with the code the
        SDK would reject with."""
        if not token:
            raise SessionRefused("session:error:empty-token", "no token")  # as the SDK, at once
        self._http = aiohttp.ClientSession()
        # handle_sigint: the client's own Ctrl-C handler cancels every task and stops the loop
        # (vcall serve, where the stand-in runs, stops cleanly on its own).
        self._sio = socketio.AsyncClient(
            http_session=self._http, reconnection=False, handle_sigint=False
        )
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def any_event(event: str, data: Any = None) -> None:
            message = data if isinstance(data, dict) else {}
            if event == "session:success" and not answer.done():
                body = message.get("body", {})
                self.session_id, self.user_id = body.get("id"), body.get("user_id")
                answer.set_result(str(self.session_id))
            elif event in REFUSALS and not answer.done():
                answer.set_exception(SessionRefused(REFUSALS[event], "sign-in failed"))
            else:
                self.events.put_nowait((event, message))

        async def disconnect(*reason: Any) -> None:
            self.disconnected.set()
            if not answer.done():
                answer.set_exception(
                    SessionRefused("session:error:websocket-transport-invalid", "sign-in failed")
                )

        self._sio.on("*", any_event)
        self._sio.on("disconnect", disconnect)
        query = {"session_version": "0.0.3", "token": token, "key": self.page_key}
        if self.headless:
            query[HEADLESS] = "1"
        url = f"{self.origin}?{urlencode(query)}"
        try:
            await self._sio.connect(
                url, transports=["websocket"], socketio_path=SOCKET_PATH.strip("/")
            )
        except socketio.exceptions.ConnectionError:
            raise SessionRefused(
                "session:error:websocket-transport-invalid", "sign-in failed"
            ) from None
        try:
            session = await asyncio.wait_for(answer, SESSION_TIMEOUT)
        except TimeoutError:
            raise SessionRefused("session:error:timeout", "sign-in failed") from None
        self.token = token
        return session

    async def refresh_session(self, token: str) -> None:
        """``PUT /v0.2/sessions/{id}`` with the new token."""
        await self._request("PUT", f"/v0.2/sessions/{self.session_id}", token=token, data=b"")
        self.token = token

    async def next_event(self, name: str, timeout: float | None = 10.0) -> dict[str, Any]:
        """The next socket event called ``name`` (others before it are dropped); ``timeout``
        None waits as long as it takes."""
        async with asyncio.timeout(timeout):
            while True:
                event, message = await self.events.get()
                if event == name:
                    return message

    async def answer(self, invite: dict[str, Any], *, media_timeout: float = MEDIA_TIMEOUT) -> bool:
        """Take the call ``invite`` (a ``member:invited`` message) as the SDK does; True once
        the media is connected."""
        body = invite["body"]
        cid, mid, leg = (
            body["conversation"]["conversation_id"],
            body["member_id"],
            body["channel"]["id"],
        )
        await self._request(
            "PUT",
            f"/v0.3/conversations/{cid}/members/{mid}",
            json={
                "originating_session": self.session_id,
                "channel": {"type": "app"},
                "from": mid,
                "state": "joined",
            },
        )
        self.peer = Peer()
        sdp = await self.peer.answer(body["sdp"])
        await self._request(
            "POST",
            f"/v0.3/conversations/{cid}/rtc/{leg}/answer",
            json={"originating_session": self.session_id, "from": mid, "body": {"answer": sdp}},
        )
        return await self.peer.connected(media_timeout)

    async def reject(self, invite: dict[str, Any], reason_code: str = "REMOTE_REJECT") -> None:
        """Decline the call (the SDK's ``reject`` sends ``REMOTE_REJECT``)."""
        await self._leave(invite, reason_code, "call-rejected-by-callee")

    async def hangup(self, invite: dict[str, Any]) -> None:
        """End the answered call."""
        await self._leave(invite, None, None)
        await self._close_media()

    async def _leave(self, invite: dict[str, Any], code: str | None, text: str | None) -> None:
        body = invite["body"]
        cid, mid = body["conversation"]["conversation_id"], body["member_id"]
        params = {"from": mid}
        if code is not None and text is not None:
            params = {"reason_code": code, "reason_text": text, **params}
        await self._request("DELETE", f"/v0.2/conversations/{cid}/members/{mid}", params=params)

    async def _request(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> Any:
        """A Conversation API request; its JSON (None for an empty body), or the refusal read
        back into vcall's errors, with the server's ``code``."""
        assert self._http is not None, "create_session first"
        headers = {"Authorization": f"bearer {token or self.token}"}
        params = {**kwargs.pop("params", {}), "key": self.page_key}
        async with self._http.request(
            method, self.origin + path, headers=headers, params=params, **kwargs
        ) as resp:
            text = await resp.text()
            try:
                data = await resp.json(content_type=None) if text else None
            except ValueError:
                data = None
            if resp.status >= 400:
                error = data if isinstance(data, dict) else {}
                detail = str(error.get("detail", text))
                raise coded(for_answer(resp.status, detail), str(error.get("code", "")))
            return data

    async def _close_media(self) -> None:
        if self.peer is not None:
            peer, self.peer = self.peer, None
            await peer.close()

    async def close(self) -> None:
        """Sign out (close the socket) and drop the media."""
        await self._close_media()
        if self._sio is not None:
            with contextlib.suppress(Exception):
                await self._sio.disconnect()
        if self._http is not None:
            await self._http.close()
