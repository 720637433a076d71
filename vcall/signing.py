"""Signed callbacks, as the Voice API sends them when an application has ``signed_callbacks``.

Each webhook carries ``Authorization: Bearer <JWT>``, HS256 with the account's signature
secret, with claims ``iat, jti, iss="Vonage", api_key, application_id, payload_hash``. The
hash is the SHA-256 (hex) of the raw body; for a GET, of the query parameters as compact JSON
in the order received. The sandbox platform and ``vcall replay`` sign with :func:`sign`;
``vcall serve`` checks with :func:`verify`. JWT work is PyJWT's.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import jwt

from vcall._errors import InvalidSignature

ISSUER = "Vonage"
#: Gives a request's bearer token from the bytes it signs (body, or GET query as JSON).
Signer = Callable[[bytes], str]
#: How old (or how far in the future) a signature's ``iat`` may be.
MAX_AGE = 300


def payload_hash(payload: bytes) -> str:
    """SHA-256 hex of what was signed."""
    return hashlib.sha256(payload).hexdigest()


def query_payload(pairs: Iterable[tuple[str, str]]) -> bytes:
    """GET webhooks: the query parameters as compact JSON, in the order received."""
    return json.dumps(dict(pairs), separators=(",", ":"), ensure_ascii=False).encode()


def sign(
    secret: str, payload: bytes, *, api_key: str, application_id: str, now: int | None = None
) -> str:
    """The bearer token for a webhook whose body (or query JSON) is ``payload``."""
    claims = {
        "iat": int(time.time()) if now is None else now,
        "jti": str(uuid.uuid4()),
        "iss": ISSUER,
        "api_key": api_key,
        "application_id": application_id,
        "payload_hash": payload_hash(payload),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def sign_with(secret: str, *, api_key: str, application_id: str) -> Signer:
    """A :data:`Signer` with ``secret``, for an application's webhooks."""
    return lambda payload: sign(secret, payload, api_key=api_key, application_id=application_id)


def verify(token: str, secret: str, payload: bytes, *, now: float | None = None) -> dict[str, Any]:
    """The claims of a valid token; raises :class:`InvalidSignature` otherwise.

    Checks the HS256 signature, the issuer, that ``iat`` is within :data:`MAX_AGE` seconds
    and that ``payload_hash`` matches ``payload``. Whether ``jti`` was seen before is the
    caller's business (it needs memory across requests).
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["iat", "jti", "payload_hash"], "verify_iat": False},
        )
    except jwt.InvalidTokenError as exc:
        raise InvalidSignature(f"bad signature token: {exc}") from None
    if claims.get("iss") != ISSUER:
        raise InvalidSignature("token issuer is not Vonage")
    current = time.time() if now is None else now
    iat = claims["iat"]
    if not isinstance(iat, int | float) or abs(current - iat) > MAX_AGE:
        raise InvalidSignature("token is too old (or from the future)")
    if not isinstance(claims["payload_hash"], str) or claims["payload_hash"] != payload_hash(
        payload
    ):
        raise InvalidSignature("payload_hash does not match the body")
    return claims
