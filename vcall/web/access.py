"""The page key: the page and every ``/api/*`` and ``/sandbox/*`` route need it.

A request proves it knows the key with ``?key=…`` (the URL ``vcall serve`` prints), the
``vcall_key`` cookie set on that first visit, or an ``Authorization: Bearer …`` header (for
programs such as ``vcall tail-events``). The webhooks under ``/voice/`` and ``/healthz`` stay
open: Vonage cannot know the key (they are protected by signed callbacks instead).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from aiohttp import web

COOKIE = "vcall_key"
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


def new_key() -> str:
    """A fresh random page key."""
    return secrets.token_urlsafe(24)


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


@web.middleware
async def require_key(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Refuse keyed routes without the key; remember a key given in the URL as a cookie."""
    if request.path.startswith(OPEN_PREFIXES):
        return await handler(request)
    key, from_query = _presented(request)
    expected = request.app[PAGE_KEY]
    # surrogateescape: header bytes that are not UTF-8 arrive as lone surrogates.
    presented = (key or "").encode("utf-8", "surrogateescape")
    if not key or not hmac.compare_digest(presented, expected.encode()):
        return web.json_response(
            {"ok": False, "error": "this page needs the key: open the URL vcall serve printed"},
            status=401,
        )
    if not same_origin(request):
        return web.json_response({"ok": False, "error": "cross-origin request refused"}, status=403)
    response = await handler(request)
    if not response.prepared:  # streams and sockets sent their headers already
        for name, value in _KEYED_HEADERS.items():
            response.headers.setdefault(name, value)
        if from_query:
            response.set_cookie(COOKIE, expected, httponly=True, samesite="Strict", path="/")
    return response
