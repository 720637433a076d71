"""What the sandbox says to the Vonage Client SDK: socket events and Conversation API errors.

Every shape the SDK reads is stated here once, with the fields its serializers know (the
socket.io event name is the SDK's ``type``; it adds that field itself). What the SDK insists on
is noted where it matters: an invite without ``sdp``, ``channel.from`` or
``media.audio_settings.enabled`` is dropped, as is one whose ``user.id`` is not the session's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from vcall._errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidParameter,
    NotFound,
    Refused,
    VcallError,
    coded,
)
from vcall.events import utc_now

#: Who the platform's own ``leg:status:update`` events come from: the SDK ignores those
#: without a ``from_user``, and those from the session's own user.
PLATFORM_USER = {"id": "USR-00000000-0000-4000-8000-000000000000", "name": "vonage"}
#: ``rtc:hangup`` reasons: (code, text, SIP code). The SDK reads 487 as a ring timeout.
HANGUP_REASONS: dict[str, tuple[str, str, int]] = {
    "REMOTE_HANGUP": ("REMOTE_HANGUP", "the caller hung up", 200),
    "RemoteCancel": ("REMOTE_CANCEL", "the caller hung up while it rang", 480),
    "RemoteTimeout": ("RING_TIMER", "nobody answered in time", 487),
    "RejectedElsewhere": ("REMOTE_REJECTED", "rejected on another device", 603),
}
_QUALITY = {
    "mos_score": 4.5,
    "quality_percentage": 100.0,
    "jitter_min_var": 0.0,
    "jitter_max_var": 0.0,
    "jitter_loss_rate": 0.0,
    "jitter_burst_rate": 0.0,
    "flaw_total": 0,
    "packet_cnt": 0,
    "packet_loss_perc": 0.0,
}


#: The Conversation API's code for each kind of refusal that carries none of its own.
_CODES: tuple[tuple[type[VcallError], str], ...] = (
    (Forbidden, "system:error:permission"),
    (Refused, "system:error:invalid-token"),
    (NotFound, "conversation:error:not-found"),
    (Conflict, "conversation:error:invalid-member-state"),
    (InvalidInput, "http:error:validation-fail"),
)


def not_found(what: str) -> NotFound:
    """404 for a conversation, member, leg or session the caller cannot see."""
    code = (
        "conversation:error:member-not-found"
        if what == "member"
        else "conversation:error:not-found"
    )
    return coded(NotFound(f"no such {what}"), code)


def conflict(message: str) -> Conflict:
    """409: the leg is not in a state where that can be done."""
    return coded(Conflict(message), "conversation:error:invalid-member-state")


def error_body(error: VcallError) -> dict[str, Any]:
    """The Conversation API's error (``CSError``), as the SDK reads any 4xx but 401."""
    code = error.code or next((c for kind, c in _CODES if isinstance(error, kind)), "")
    body: dict[str, Any] = {
        "type": code,
        "title": code.rsplit(":", 1)[-1].replace("-", " "),
        "code": code,
        "detail": str(error),
        "instance": str(uuid.uuid4()),
    }
    if isinstance(error, InvalidParameter):
        body["invalid_parameters"] = [{"name": error.name, "reason": error.reason}]
    return body


def session_success(session_id: str, user_id: str, name: str, api_key: str) -> dict[str, Any]:
    """``session:success``: what ``createSession`` resolves with."""
    return {"body": {"id": session_id, "user_id": user_id, "name": name, "api_key": api_key}}


@dataclass(frozen=True)
class AppLeg:
    """An app leg as the Client SDK sees it: the call's conversation, the user's member in
    it, and the leg (its id is the SDK's ``callId``)."""

    conversation_id: str
    member_id: str
    leg_id: str
    user_id: str
    user_name: str
    caller: str
    application_id: str

    @property
    def conversation_name(self) -> str:
        return f"NAM-{self.conversation_id.removeprefix('CON-')}"

    def user(self) -> dict[str, Any]:
        return {"id": self.user_id, "name": self.user_name}

    def channel(self) -> dict[str, Any]:
        return {
            "id": self.leg_id,
            "type": "app",
            "from": {"type": "phone", "number": self.caller},
            "to": {"type": "app", "user": self.user_name},
        }

    def conversation(self, created: str, active: bool) -> dict[str, Any]:
        """``GET /v0.3/conversations/{id}``: INACTIVE cancels an invite still ringing."""
        return {
            "id": self.conversation_id,
            "name": self.conversation_name,
            "timestamp": {"created": created},
            "state": "ACTIVE" if active else "INACTIVE",
        }


class ConversationEvents:
    """The socket events of one conversation, numbered as Vonage numbers them."""

    def __init__(self, leg: AppLeg) -> None:
        self.leg = leg
        self._last_id = 0

    def _envelope(self, body: dict[str, Any], *, stamped: bool = True) -> dict[str, Any]:
        self._last_id += 1
        message: dict[str, Any] = {
            "body": body,
            "id": self._last_id,
            "cid": self.leg.conversation_id,
        }
        if stamped:
            message["timestamp"] = utc_now()
            message["application_id"] = self.leg.application_id
        return message

    def member_invited(self, sdp: str) -> dict[str, Any]:
        """``member:invited``: rings the page (``callInvite``)."""
        leg = self.leg
        return self._envelope(
            {
                "conversation": {
                    "conversation_id": leg.conversation_id,
                    "name": leg.conversation_name,
                },
                "member_id": leg.member_id,
                "user": leg.user(),
                "media": {"audio_settings": {"enabled": True, "earmuffed": False, "muted": False}},
                "channel": leg.channel(),
                "sdp": sdp,
            }
        )

    def member_joined(self) -> dict[str, Any]:
        """``member:joined``: the user's other pages stop ringing (``AnsweredElsewhere``)."""
        leg = self.leg
        return self._envelope(
            {"member_id": leg.member_id, "user": leg.user(), "channel": leg.channel()}
        )

    def member_left(self, code: str, text: str) -> dict[str, Any]:
        """``member:left``: with ``REMOTE_REJECT`` before ``rtc:hangup``, ``RejectedElsewhere``."""
        leg = self.leg
        return self._envelope(
            {
                "member_id": leg.member_id,
                "user": leg.user(),
                "channel": leg.channel(),
                "reason": {"code": code, "text": text},
            }
        )

    def rtc_hangup(self, reason: str, bytes_in: int = 0, bytes_out: int = 0) -> dict[str, Any]:
        """``rtc:hangup``: the call ended (``callHangup``) or the invite is gone."""
        code, text, sip_code = HANGUP_REASONS[reason]
        return self._envelope(
            {
                "channel": self.leg.channel(),
                "bandwidth": {"bytes_in": bytes_in, "bytes_out": bytes_out},
                "reason": {"text": text, "code": code, "sip_code": sip_code},
                "quality": dict(_QUALITY),
                "direction": "outbound",
            },
            stamped=False,
        )

    def leg_status(self, status: str, history: list[dict[str, str]]) -> dict[str, Any]:
        """``leg:status:update`` for the app leg (``legStatusUpdate``): ringing, answered,
        completed."""
        message = self._envelope(
            {
                "direction": "outbound",
                "leg_id": self.leg.leg_id,
                "status": status,
                "type": "app",
                "statusHistory": history,
            },
            stamped=False,
        )
        message["_embedded"] = {"from_user": dict(PLATFORM_USER)}
        return message
