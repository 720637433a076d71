"""The page key: the page and every ``/api/*`` and ``/sandbox/*`` route need it.

Each of those routes is registered through :func:`guarded`, which also answers errors as
JSON; :func:`ensure_guarded` refuses to start a server with a route outside the webhooks that
is not. (A per-route guard rather than a middleware: any middleware costs every request, the
webhooks included, a few microseconds, and the webhooks are the hot path.)

A request proves it knows the key with ``?key=…`` (the URL ``vcall serve`` prints), the
``vcall_key`` cookie set on that first visit, or an ``Authorization: Bearer …`` header (for
programs such as ``vcall tail-events``). The webhooks under ``/voice/`` and ``/healthz`` stay
open: Vonage cannot know the key (they are protected by signed callbacks instead).
"""

from __future__ import annotations

import functools
import hmac
import logging
from urllib.parse import urlsplit

from aiohttp import web

from vcall._errors import Forbidden, Refused, VcallError
from vcall.web.answers import failure, refusal

logger = logging.getLogger("vcall.web")

COOKIE = "vcall_key"
_GUARDED = "__vcall_guarded__"
OPEN_PREFIXES = ("/voice/", "/healthz")
PAGE_KEY = web.AppKey("page_key", str)
#: On every keyed answer: the key may be in the URL, so no Referer carries it elsewhere and
#: no cache keeps the answer; no other site may frame the page or sniff types.
_KEYED_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def _presented(request: web.Request) -> tuple[str | None, bool]:
    """The key the request carries, and whether it came in the query string."""
    if "key" in request.query:
        return request.query["key"], True
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[7:].strip(), False
    return request.cookies.get(COOKIE), False


def same_origin(request: web.Request) -> bool:
    """True when the request has no Origin header or one naming this server.

    Browsers send Origin on WebSocket upgrades and cross-site requests; a page on another
    site must not reach the stream or socket with a user's cookie.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.netloc == request.host and parts.scheme in ("http", "https")


async def keyed(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Pass a request on to ``handler`` only with the key; remember a key given in the URL as
    a cookie."""
    key, from_query = _presented(request)
    expected = request.app[PAGE_KEY]
    # surrogateescape: header bytes that are not UTF-8 arrive as lone surrogates.
    presented = (key or "").encode("utf-8", "surrogateescape")
    if not key or not hmac.compare_digest(presented, expected.encode()):
        return failure(Refused("this page needs the key: open the URL vcall serve printed"))
    if not same_origin(request):
        return failure(Forbidden("cross-origin request refused"))
    response = await handler(request)
    if not response.prepared:  # streams and sockets sent their headers already
        for name, value in _KEYED_HEADERS.items():
            response.headers.setdefault(name, value)
        if from_query:
            response.set_cookie(COOKIE, expected, httponly=True, samesite="Strict", path="/")
    return response


def guarded(handler: web.Handler) -> web.Handler:
    """``handler`` behind the page key, with failures answered as ``{"ok": false, "error": …}``
    (bugs become a logged 500)."""

    @functools.wraps(handler)
    async def guarded_handler(request: web.Request) -> web.StreamResponse:
        try:
            return await keyed(request, handler)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return refusal(exc.status, exc.reason)
        except VcallError as exc:
            return failure(exc)
        except ConnectionError:
            # The client hung up mid-request. Re-raising would make aiohttp log it as an error;
            # a response is dropped quietly when aiohttp finds the connection gone.
            return web.Response(status=400, text="connection lost")
        except Exception:
            logger.exception("unhandled error on %s %s", request.method, request.path)
            return refusal(500, "internal error")

    guarded_handler.__dict__[_GUARDED] = True
    return guarded_handler


def ensure_guarded(app: web.Application) -> None:
    """Raise unless every route outside :data:`OPEN_PREFIXES` was registered :func:`guarded`."""
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if not path.startswith(OPEN_PREFIXES) and not getattr(route.handler, _GUARDED, False):
            raise RuntimeError(f"route {route.method} {path} is not behind the page key")
