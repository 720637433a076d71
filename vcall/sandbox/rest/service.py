"""The sandbox REST API: Vonage's Applications, Numbers and Users APIs on one aiohttp app.

:func:`create_sandbox_app` is the only way to build it. It serves what the ``vonage`` SDK
calls on both of its hosts (``api_host`` and ``rest_host`` may be the same ``host:port``):

    /v2/applications[/{id}]           Basic auth (account key/secret)
    /account/numbers, /number/*       Basic auth, or api_key/api_secret parameters
    /v1/users[/{id}]                  Bearer JWT, RS256, verified with the app's public key

Every answered request is appended to the request log (:meth:`SandboxState.log_request`).
Error bodies follow Vonage's: problem JSON for Applications and Users, ``error-code`` /
``error-code-label`` for Numbers.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import time
from collections.abc import Mapping

import jwt
from aiohttp import web

from vcall.acl import grants
from vcall.sandbox.account import SandboxState
from vcall.sandbox.rest import applications, numbers, users
from vcall.sandbox.rest.protocol import (
    APP_ID,
    ERRORS_DOC,
    NOTES,
    STATE,
    numbers_error,
    params,
    problem,
)

logger = logging.getLogger("vcall.sandbox")


def _basic_ok(request: web.Request, account_key: str, account_secret: str, given: Mapping) -> bool:
    header = request.headers.get("Authorization", "")
    key = secret = None
    if header.startswith("Basic "):
        try:
            key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
    elif "api_key" in given:  # the Numbers API also takes credentials as parameters
        key, secret = given.get("api_key"), given.get("api_secret", "")
    if key is None or secret is None:
        return False
    return hmac.compare_digest(key.encode(), account_key.encode()) & hmac.compare_digest(
        secret.encode(), account_secret.encode()
    )


def _jwt_app(request: web.Request, state: SandboxState) -> str | web.Response:
    """The application id of a valid bearer JWT, or the 401 to send."""

    def refuse(detail: str) -> web.Response:
        return problem(
            401,
            "Invalid Token",
            detail,
            f"{ERRORS_DOC}#invalid-token",
            code="system:error:invalid-token",
        )

    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return refuse("This API needs a JWT: Authorization: Bearer <token>.")
    token = header[7:].strip()
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return refuse("The token is not a JWT.")
    app_id = unverified.get("application_id")
    app = state.application(app_id) if isinstance(app_id, str) else None
    if app is None:
        return refuse("The token's application_id names no application of this account.")
    try:
        claims = jwt.decode(
            token,
            app["keys"]["public_key"],
            algorithms=["RS256"],
            options={"require": ["iat"]},
        )
    except jwt.InvalidTokenError as exc:
        return refuse(f"The token was not signed by the application's key, or expired ({exc}).")
    if not grants(claims.get("acl"), request.path):
        return problem(
            403,
            "Forbidden",
            f"The token's acl does not grant {request.path}.",
            f"{ERRORS_DOC}#forbidden",
            code="system:error:forbidden",
        )
    return app_id


@web.middleware
async def _auth(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Basic auth for Applications and Numbers, RS256 JWT for Users."""
    state = request.app[STATE]
    path = request.path
    if path.startswith("/v1/users"):
        found = _jwt_app(request, state)
        if isinstance(found, web.Response):
            return found
        request[APP_ID] = found
        return await handler(request)
    account = state.account
    if path.startswith(("/account/", "/number/")):
        given = await params(request)
        if not _basic_ok(request, account.api_key, account.api_secret, given):
            return numbers_error(401, "authentication failed")
    elif path.startswith("/v2/applications") and not _basic_ok(
        request, account.api_key, account.api_secret, {}
    ):
        return problem(
            401,
            "Unauthorized",
            "You did not provide correct credentials.",
            f"{ERRORS_DOC}#unauthorized",
        )
    return await handler(request)


@web.middleware
async def _log(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Answer unknown routes like an API would, and log every request."""
    request[NOTES] = []
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = problem(exc.status, exc.reason, exc.text or exc.reason, ERRORS_DOC)
    except Exception:
        logger.exception("sandbox bug on %s %s", request.method, request.path)
        response = problem(500, "Internal Error", "The sandbox failed; see its log.", ERRORS_DOC)
    request.app[STATE].log_request(
        {
            "time": round(time.time(), 3),
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "status": response.status,
            "notes": request[NOTES],
        }
    )
    # One connection per request: no idle TLS connection outlives a call, so a sandbox run
    # in-process (vcall setup) stops at once and cleanly.
    response.force_close()
    return response


async def _index(request: web.Request) -> web.Response:
    return web.json_response({"sandbox": "vcall", "apis": ["applications", "numbers", "users"]})


def create_sandbox_app(state: SandboxState) -> web.Application:
    """The sandbox API over ``state`` (serve it over HTTPS: see :mod:`vcall.sandbox.rest.server`)."""
    app = web.Application(middlewares=[_log, _auth], client_max_size=1024 * 1024)
    app[STATE] = state
    app.router.add_get("/", _index)
    applications.add_routes(app)
    numbers.add_routes(app)
    users.add_routes(app)
    return app
