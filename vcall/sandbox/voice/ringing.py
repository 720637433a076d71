"""Ringing an app user as the Client SDK expects: one app leg offered to the user's sessions.

A :class:`Ring` is the platform's side of one app leg. Its sessions (pages, or the headless
stand-in, all signed in over the socket) are sent ``member:invited`` with the platform's SDP
offer; the first to join the member (``PUT …/members/{id}``, state ``joined``) takes the call
and the others are told ``member:joined`` (``AnsweredElsewhere``); its RTC answer (``POST
…/rtc/{leg}/answer``) is applied to the platform's peer and the leg is answered. A member that
leaves while it rings (``DELETE …/members/{id}``) declines for every session: once it has its
answer, the sessions get ``member:left`` then ``rtc:hangup`` (``RejectedElsewhere`` on the
others).

``state`` goes ``ringing`` → ``joining`` → ``answered`` → ``completed``, or ends at
``rejected``, ``busy``, ``failed`` (the user declined, or media never came), ``cancelled`` or
``timeout`` (the platform withdrew the invite). Every transition is checked, so a late or
duplicate request from a second page is refused rather than counted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from vcall._errors import InvalidInput, InvalidParameter
from vcall.events import utc_now
from vcall.sandbox.voice.media import Peer
from vcall.sandbox.voice.sdk_messages import AppLeg, ConversationEvents, conflict, not_found

logger = logging.getLogger("vcall.sandbox.ringing")

#: What a member leaving a ringing leg means, by the ``reason_code`` it leaves with (the SDK's
#: reject sends ``REMOTE_REJECT``; the stand-in plays busy and failed with the others).
LEAVE_OUTCOMES = {"REMOTE_REJECT": "rejected", "REMOTE_BUSY": "busy", "REMOTE_FAILURE": "failed"}
#: Seconds a joined session gets to send its RTC answer before the leg fails.
ANSWER_TIMEOUT = 30.0


class Device(Protocol):
    """A signed-in session that can be rung."""

    id: str
    user_id: str

    async def emit(self, event: str, message: dict[str, Any]) -> None:
        """Send one socket event (quietly dropped once the session is gone)."""


class Ring:
    """One app leg ringing a user's sessions, and what they decided."""

    def __init__(self, leg: AppLeg, devices: Iterable[Device], *, private: bool = False) -> None:
        self.leg = leg
        self.devices = list(devices)
        #: A private ring stays with the devices it was given (the stand-in's): sessions that
        #: sign in while it rings are not invited.
        self.private = private
        self.state = "ringing"
        self.joined_by: Device | None = None
        #: How many sessions were sent the invite.
        self.rung = 0
        self.created = utc_now()
        self.events = ConversationEvents(leg)
        self._peer: Peer | None = None
        self._offering: asyncio.Future[str] | None = None
        self._invitation: dict[str, Any] | None = None
        self._history: list[dict[str, str]] = []
        loop = asyncio.get_running_loop()
        self._decided: asyncio.Future[str] = loop.create_future()
        self._user_hung_up: asyncio.Future[None] = loop.create_future()
        self._answer_timer: asyncio.TimerHandle | None = None

    @property
    def active(self) -> bool:
        """Still ringing or in progress (``GET`` on the conversation says ACTIVE)."""
        return self.state in ("ringing", "joining", "answered")

    # -- the platform's side -----------------------------------------------------------------

    async def offer(self) -> None:
        """Make the platform's media offer and send the invite to every device."""
        if not self.devices:
            return
        await self._ensure_offer()
        for device in list(self.devices):
            await self._invite(device)

    async def add(self, device: Device) -> None:
        """A session of the user signed in while the leg rings: it rings there too."""
        if self.private or self.state != "ringing" or device in self.devices:
            return
        self.devices.append(device)
        await self._ensure_offer()
        if self.state == "ringing":  # still, after the offer was made
            await self._invite(device)

    async def _ensure_offer(self) -> None:
        # One offer and one event, however many sessions it goes to (and whenever they sign
        # in, possibly while the offer is still being made).
        if self._offering is None:
            self._peer = Peer()
            self._offering = asyncio.ensure_future(self._peer.offer())
        sdp = await asyncio.shield(self._offering)
        if self._invitation is None:
            self._invitation = self.events.member_invited(sdp)

    async def _invite(self, device: Device) -> None:
        assert self._invitation is not None
        self.rung += 1
        await device.emit("member:invited", self._invitation)

    async def decision(self, timeout: float) -> str | None:
        """The user's decision, or None if none came within ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(self._decided), timeout)
        return None

    async def withdraw(self, reason: str) -> bool:
        """Stop ringing (``RemoteCancel``: the caller hung up; ``RemoteTimeout``: no answer).

        False when the user decided first; ``state`` then says what they decided.
        """
        if self.state not in ("ringing", "joining"):
            return False
        self.state = "cancelled" if reason == "RemoteCancel" else "timeout"
        self._decide(self.state)
        code, text = (
            ("REMOTE_CANCEL", "cancelled")
            if reason == "RemoteCancel"
            else (
                "RING_TIMER",
                "timeout",
            )
        )
        hangup, left = self.events.rtc_hangup(reason), self.events.member_left(code, text)
        for device in list(self.devices):
            await device.emit("rtc:hangup", hangup)
            await device.emit("member:left", left)
        await self._close_media()
        return True

    async def user_hung_up(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the user to hang up; True if they did."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._user_hung_up), timeout)
            return True
        return False

    async def end(self, reason: str = "REMOTE_HANGUP") -> None:
        """The caller (or a limit) ended the answered call: tell the user's session."""
        if self.state != "answered" or self.joined_by is None:
            return
        self.state = "completed"
        received, sent = await self._traffic()
        device = self.joined_by
        await device.emit("leg:status:update", self._status("completed"))
        await device.emit("rtc:hangup", self.events.rtc_hangup(reason, received, sent))
        await self._close_media()

    async def close(self) -> None:
        """Release the media (the call is over, however it ended)."""
        await self._close_media()

    # -- what the user's sessions do ---------------------------------------------------------

    def rang(self, device: Device) -> bool:
        """Whether ``device`` was invited (only those may act on the leg)."""
        return device in self.devices

    async def join(self, device: Device) -> None:
        """``device`` picks up: the leg is its; the user's other sessions stop ringing."""
        if self.state != "ringing":
            raise conflict(f"the call is {self.state}")
        self.state, self.joined_by = "joining", device
        loop = asyncio.get_running_loop()
        self._answer_timer = loop.call_later(ANSWER_TIMEOUT, self._no_answer)
        joined = self.events.member_joined()
        for other in list(self.devices):
            if other is not device:
                await other.emit("member:joined", joined)

    def _no_answer(self) -> None:
        if self.state == "joining":
            self.state = "failed"
            self._decide("failed")

    async def answer(self, device: Device, sdp: object) -> None:
        """The joined session's SDP answer: applied to the platform's peer, the leg answered."""
        if self.state != "joining" or device is not self.joined_by:
            raise conflict(f"the call is {self.state}" if self.state != "ringing" else "join first")
        if not isinstance(sdp, str) or not sdp.strip():
            raise InvalidParameter("body.answer", "must be an SDP answer")
        assert self._peer is not None
        try:
            await self._peer.accept(sdp)
        except InvalidInput as exc:
            raise InvalidParameter("body.answer", str(exc)) from None
        if self.state != "joining":  # the caller gave up while the answer was applied
            raise conflict(f"the call is {self.state}")
        self.state = "answered"
        if self._answer_timer is not None:
            self._answer_timer.cancel()
        self._decide("answered")
        await device.emit("leg:status:update", self._status("answered"))

    async def leave(self, device: Device | None, reason_code: str) -> Callable[[], Awaitable[None]]:
        """The member leaves: declining while it rings, hanging up once joined.

        ``device`` is the session that joined, when known. Returns what to tell the user's
        sessions, to be awaited once the leaving one has its answer: the SDK's reject names no
        session, so all are told, and a page that receives ``member:left`` before its own
        reject has been answered takes it for a reject on another page (in Chromium); after
        the answer, it ignores it. Leaving a leg that has already ended
        is a no-op, as on the platform.
        """
        if self.state == "ringing":
            self.state = LEAVE_OUTCOMES.get(reason_code, "rejected")
            self._decide(self.state)
            await self._close_media()
            return functools.partial(self._rejected_elsewhere, device)
        if self.state in ("joining", "answered") and device is self.joined_by:
            await self._hang_up()
        return _nothing

    async def _rejected_elsewhere(self, device: Device | None) -> None:
        left = self.events.member_left("REMOTE_REJECT", "call-rejected-by-callee")
        hangup = self.events.rtc_hangup("RejectedElsewhere")
        for other in list(self.devices):
            if other is not device:
                await other.emit("member:left", left)
                await other.emit("rtc:hangup", hangup)

    async def gone(self, device: Device) -> None:
        """A session closed: it rings no more; if it had the call, that is a hang-up."""
        if device is self.joined_by and self.state in ("joining", "answered"):
            await self._hang_up()
        with contextlib.suppress(ValueError):
            self.devices.remove(device)

    async def _hang_up(self) -> None:
        if self.state == "joining":
            self.state = "failed"  # picked up, but the media never came
            self._decide("failed")
        else:
            self.state = "completed"
            if not self._user_hung_up.done():
                self._user_hung_up.set_result(None)
        await self._close_media()

    # -- helpers -----------------------------------------------------------------------------

    def _decide(self, outcome: str) -> None:
        if not self._decided.done():
            self._decided.set_result(outcome)

    def _status(self, status: str) -> dict[str, Any]:
        self._history.append({"status": status, "date": utc_now()})
        return self.events.leg_status(status, list(self._history))

    async def _traffic(self) -> tuple[int, int]:
        return (0, 0) if self._peer is None else await self._peer.traffic()

    async def _close_media(self) -> None:
        if self._answer_timer is not None:
            self._answer_timer.cancel()
        if self._peer is not None:
            peer, self._peer = self._peer, None
            await peer.close()


async def _nothing() -> None:
    """Nothing to tell anyone."""


class Rings:
    """The legs ringing or in progress, by conversation, for the sessions to act on."""

    def __init__(self) -> None:
        self._rings: dict[str, Ring] = {}

    def track(self, ring: Ring) -> None:
        self._rings[ring.leg.conversation_id] = ring

    def untrack(self, ring: Ring) -> None:
        if self._rings.get(ring.leg.conversation_id) is ring:
            del self._rings[ring.leg.conversation_id]

    def find(self, conversation_id: str, user_id: str) -> Ring:
        """The conversation's leg to ``user_id``; 404 when there is none (or it is another's)."""
        ring = self._rings.get(conversation_id)
        if ring is None or ring.leg.user_id != user_id:
            raise not_found("conversation")
        return ring

    def of_user(self, user_id: str) -> list[Ring]:
        """The user's legs, in the order they started."""
        return [ring for ring in self._rings.values() if ring.leg.user_id == user_id]

    def all(self) -> list[Ring]:
        return list(self._rings.values())
