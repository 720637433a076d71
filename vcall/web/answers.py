"""The JSON answers ``vcall serve`` gives: results, and refusals (``{"ok": false, "error": …}``),
which for a webhook are also filed in the store's ``rejected`` table."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from vcall.web.keys import LOG, STORE

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


async def filed_refusal(
    request: web.Request, status: int, reason: str, body: bytes, **headers: str
) -> web.Response:
    """A webhook's :func:`refusal`, once the body is filed in ``rejected`` with the reason.

    Filing waits for the store: back-pressure against a flood of bad or forged requests.
    """
    await request.app[STORE].reject(
        reason, request.method, request.path_qs, request.content_type, body
    )
    request.app[LOG].rejected(request.path, reason, status)
    return refusal(status, reason, **headers)
