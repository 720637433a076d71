"""Signed webhooks: with a signature secret, every ``/voice/*`` request must come from Vonage.

The Voice API signs each webhook with ``Authorization: Bearer <JWT>`` (HS256, the account's
signature secret; see :mod:`vcall.signing`). :func:`verified` checks the token, that its
``payload_hash`` matches the raw body (GET: the query as compact JSON in received order), that
``iat`` is within five minutes, and that its ``jti`` was not used before. A request that fails
gets 401 and is filed in the store's ``rejected`` table with the reason; it never reaches the
handlers, so it never becomes an event. Without a secret (``--no-verify``, or live with none
configured) every webhook is let through, and ``vcall serve`` says so at start-up.
"""

from __future__ import annotations

import functools
import heapq
import ipaddress
import logging
import time
from collections.abc import Callable

from aiohttp import web

from vcall._errors import InvalidSignature, UnreadableBody
from vcall.answer_requests import VERIFIED
from vcall.signing import MAX_AGE, query_payload, verify
from vcall.web.answers import filed_refusal
from vcall.web.body import read_body

logger = logging.getLogger("vcall.web.signed")
_REALM = 'Bearer realm="vonage-signed-webhooks"'
#: The signature check's outcome, on a request that went through it: ``verified``, or the
#: reason it was refused (vcall.answer_requests).
SIGNATURE = web.RequestKey("signature", str)


class ReplayGuard:
    """Remembers each accepted ``jti`` for as long as its token could still pass the age check.

    A token is accepted while ``|now - iat| <= MAX_AGE``, so its ``jti`` is kept until
    ``iat + MAX_AGE`` and then forgotten: memory holds one window of traffic, never more.
    """

    def __init__(self, window: float = MAX_AGE, clock: Callable[[], float] = time.time) -> None:
        self._window = window
        self._clock = clock
        self._until: dict[str, float] = {}
        self._expiries: list[tuple[float, str]] = []

    def first_use(self, jti: str, iat: float) -> bool:
        """Record ``jti``; False if it was already seen within the window (a replay)."""
        now = self._clock()
        while self._expiries and self._expiries[0][0] < now:
            _, old = heapq.heappop(self._expiries)
            self._until.pop(old, None)
        if jti in self._until:
            return False
        until = max(iat, now) + self._window
        self._until[jti] = until
        heapq.heappush(self._expiries, (until, jti))
        return True

    def __len__(self) -> int:
        return len(self._until)


class WebhookVerifier:
    """Checks one request's signature token against the secret and the replay guard."""

    def __init__(self, secret: str, guard: ReplayGuard | None = None) -> None:
        self._secret = secret
        self.guard = guard or ReplayGuard()

    def check(self, authorization: str | None, payload: bytes) -> str | None:
        """None when the request is Vonage's; otherwise the reason it is not.

        Never log ``authorization``: it is a bearer token.
        """
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "missing signature: expected Authorization: Bearer <JWT>"
        if not token.isascii():  # header bytes that are not UTF-8 arrive as surrogates
            return "bad signature token: not a JWT"
        try:
            claims = verify(token.strip(), self._secret, payload)
        except InvalidSignature as exc:
            return str(exc)
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            return "token jti must be a non-empty string"
        if not self.guard.first_use(jti, float(claims["iat"])):
            return "token jti was already used (replayed request)"
        logger.debug("signed by Vonage: jti %s, iat %s", jti, claims["iat"])
        return None


def verifying(handler: web.Handler, verifier: WebhookVerifier) -> web.Handler:
    """``handler`` for requests Vonage signed only."""

    @functools.wraps(handler)
    async def verifying_handler(request: web.Request) -> web.StreamResponse:
        return await verified(request, handler, verifier)

    return verifying_handler


async def verified(
    request: web.Request, handler: web.Handler, verifier: WebhookVerifier
) -> web.StreamResponse:
    """Pass a webhook on to ``handler`` only if Vonage signed it; the outcome is left on the
    request as :data:`SIGNATURE`."""
    if request.method == "GET":
        payload = query_payload(request.query.items())
    else:
        try:
            # read_body keeps the bytes on the request, so the handler sees the same body.
            payload = await read_body(request)
        except UnreadableBody as exc:
            request[SIGNATURE] = f"not checked: {exc}"
            return await filed_refusal(request, exc, exc.head)
    reason = verifier.check(request.headers.get("Authorization"), payload)
    request[SIGNATURE] = VERIFIED if reason is None else reason
    if reason is not None:
        # A signed answer request never gets here, so answering never waits on the store.
        refused = InvalidSignature(reason)
        return await filed_refusal(request, refused, payload, **{"WWW-Authenticate": _REALM})
    return await handler(request)


def startup_warnings(host: str, *, secret: str | None, verify: bool) -> list[str]:
    """What ``vcall serve`` should warn about before it starts listening."""
    out: list[str] = []
    if not verify:
        out.append(
            "--no-verify: webhook signatures are NOT checked; anyone who can reach "
            "/voice/* can post events and fetch the NCCO"
        )
    elif not secret:
        out.append(
            "no signature secret (VONAGE_SIGNATURE_SECRET or --signature-secret): "
            "webhook signatures are NOT checked"
        )
    if not (verify and secret) and not is_loopback(host):
        out.append(
            f"listening on {host} (not loopback) with signature checks off: anyone on the "
            "network can post events"
        )
    return out


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
