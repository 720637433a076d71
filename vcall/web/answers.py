"""The JSON answers ``vcall serve`` gives: results, and refusals (``{"ok": false, "error": …}``),
which for a webhook are also filed in the store's ``rejected`` table.

:func:`failure` is where the server maps :mod:`vcall._errors` to HTTP, for every route."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from aiohttp import web

from vcall._errors import StoreError, VcallError
from vcall.web.keys import LOG, STORE

logger = logging.getLogger("vcall.web")

_JSON = {"Content-Type": "application/json"}
_encode = msgspec.json.Encoder().encode


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """``web.json_response`` with msgspec: a quarter of the time, on every webhook answer."""
    return web.Response(
        body=_encode(data), status=status, headers={**_JSON, **headers} if headers else _JSON
    )


def refusal(status: int, reason: str, **headers: str) -> web.Response:
    """``{"ok": false, "error": reason}`` with ``status``."""
    return json_response({"ok": False, "error": reason}, status=status, headers=headers)


def failure(error: VcallError, **headers: str) -> web.Response:
    """The answer to an expected failure: its class's HTTP status, and its message."""
    if error.retry_after is not None:
        headers.setdefault("Retry-After", str(error.retry_after))
    return refusal(error.status, str(error), **headers)


async def filed_refusal(
    request: web.Request, error: VcallError, body: bytes, **headers: str
) -> web.Response:
    """A webhook's :func:`failure`, once the body is filed in ``rejected`` with the reason.

    Filing waits for the store: back-pressure against a flood of bad or forged requests.
    """
    reason = str(error)
    try:
        await request.app[STORE].reject(
            reason, request.method, request.path_qs, request.content_type, body
        )
    except StoreError as exc:  # refused all the same; only the filing is lost
        logger.warning(
            "%s %s refused (%s), not filed: %s", request.method, request.path, reason, exc
        )
    request.app[LOG].rejected(request.path, reason, error.status)
    return failure(error, **headers)
