"""Client JWTs checked as Vonage checks them, for the socket and the Conversation API.

A token is accepted when it is an RS256 JWT signed with the private key of a sandbox
application (verified with the public key the sandbox holds for it), names that application in
``application_id``, has not expired (``exp``), names an existing user of it in ``sub``, and its
``acl`` covers the path asked for (:mod:`vcall.acl`).

Each refusal carries the code the Client SDK maps to its own error (``code``): on the socket it
is the name of the event to send, over HTTP the ``code`` of a Conversation API error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt

from vcall._errors import Forbidden, SessionRefused, coded
from vcall.acl import grants

if TYPE_CHECKING:
    from vcall.sandbox.account import SandboxState

#: The refusals' codes, by what went wrong.
EXPIRED = "system:error:expired-token"
INVALID = "system:error:invalid-token"
UNKNOWN_USER = "user:error:invalid-user"
FORBIDDEN = "system:error:permission"


@dataclass(frozen=True)
class Identity:
    """Who a token speaks for."""

    application_id: str
    user_id: str
    user_name: str
    expires: float
    acl: dict[str, Any] | None

    def require(self, method: str, path: str) -> None:
        """Raise :class:`~vcall._errors.Forbidden` unless the token's ACL covers ``method path``."""
        if not grants(self.acl, path, method):
            raise coded(Forbidden(f"the token's acl does not cover {method} {path}"), FORBIDDEN)


def authenticate(state: SandboxState, token: object) -> Identity:
    """The identity ``token`` proves; raises :class:`~vcall._errors.SessionRefused` with the
    SDK's code."""
    if not isinstance(token, str) or not token:
        raise SessionRefused(INVALID, "no token")
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise SessionRefused(INVALID, f"not a JWT: {exc}") from None
    app_id = unverified.get("application_id")
    app = state.application(app_id) if isinstance(app_id, str) else None
    public_key = (app or {}).get("keys", {}).get("public_key")
    if not public_key:
        raise SessionRefused(INVALID, "the token's application_id is not a sandbox application")
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            options={"require": ["exp", "iat", "sub"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise SessionRefused(EXPIRED, "the token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise SessionRefused(INVALID, f"token refused: {exc}") from None
    sub = claims["sub"]
    user = state.user_by_name(sub, app_id) if isinstance(sub, str) else None
    if user is None:
        raise SessionRefused(UNKNOWN_USER, f"no user {sub!r} in application {app_id}")
    acl = claims.get("acl")
    return Identity(app_id, str(user["id"]), str(user["name"]), float(claims["exp"]), acl)
