"""The webhooks Vonage calls: answer (and fallback) returns the NCCO; event stores events.

An event is acknowledged only after the store has committed it. Anything that is not a
call event gets a 4xx with the reason and is filed in the store's ``rejected`` table.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from vcall.events import InvalidEvent, event_from_mapping, parse_event
from vcall.signing import query_payload
from vcall.web.keys import HUB, LOG, NCCO, STORE

#: Largest webhook body accepted; Vonage's events are a few hundred bytes.
MAX_BODY = 64 * 1024
#: Seconds a client may take to send its whole body (slow senders must not hold a handler).
BODY_TIMEOUT = 10.0
_ALLOWED = ("GET", "POST")
_BODY = web.RequestKey("body", bytes)


class UnreadableBody(Exception):
    """The body cannot be taken: ``status`` is the HTTP answer, ``head`` what was read."""

    status = 400

    def __init__(self, reason: str, head: bytes = b"") -> None:
        super().__init__(reason)
        self.head = head


class BodyTooLarge(UnreadableBody):
    """The body passed :data:`MAX_BODY`."""

    status = 413

    def __init__(self, head: bytes) -> None:
        super().__init__(f"body is larger than {MAX_BODY // 1024} KiB", head)


class BodyTimeout(UnreadableBody):
    """The client did not send its whole body within :data:`BODY_TIMEOUT` (slow sender)."""

    status = 408

    def __init__(self) -> None:
        super().__init__(f"body not received within {BODY_TIMEOUT:g} s")


async def read_body(request: web.Request) -> bytes:
    """The request body, refusing (without buffering) anything over :data:`MAX_BODY`.

    The body is read once and kept on the request, so the signature check and the handler
    see the same bytes.
    """
    stream = request.content
    if stream.is_eof() and not stream.at_eof():
        # The whole body came with the headers (as webhooks do) and nobody has read it yet:
        # nothing to wait for, so no timeout to arm. This is the hot path.
        body = stream.read_nowait()
        if len(body) > MAX_BODY:
            raise BodyTooLarge(body[:MAX_BODY])
        request[_BODY] = body
        return body
    if _BODY in request:
        return request[_BODY]
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            if request.content_length is not None and request.content_length > MAX_BODY:
                raise BodyTooLarge(await request.content.read(MAX_BODY))
            async for chunk in request.content.iter_chunked(MAX_BODY):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY:
                    raise BodyTooLarge(b"".join(chunks)[:MAX_BODY])
    except TimeoutError:
        raise BodyTimeout() from None
    request[_BODY] = body = b"".join(chunks)
    return body


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """``web.json_response`` with orjson: a quarter of the time, on every webhook answer."""
    return web.Response(
        body=orjson.dumps(data), status=status, headers=headers, content_type="application/json"
    )


def _error(status: int, reason: str, **headers: str) -> web.Response:
    return json_response({"ok": False, "error": reason}, status=status, headers=headers)


async def answer(request: web.Request) -> web.Response:
    """``GET|POST /voice/answer`` (and ``/voice/fallback``): the NCCO for this call."""
    params: Any
    if request.method == "POST":
        try:
            params = orjson.loads(await read_body(request) or b"{}")
        except UnreadableBody as exc:
            return _error(exc.status, str(exc))
        except orjson.JSONDecodeError:
            return _error(400, "answer body is not JSON")
        if not isinstance(params, dict):
            return _error(400, "answer body must be a JSON object")
    else:
        params = request.query
    caller = params.get("from")
    if caller is not None and not isinstance(caller, str):
        return _error(400, "field 'from' must be a string")
    request.app[LOG].answer(caller, request.path)
    return json_response(request.app[NCCO].build(caller))


async def event(request: web.Request) -> web.Response:
    """``POST|GET /voice/event``: commit the event, then acknowledge it."""
    store = request.app[STORE]
    log = request.app[LOG]

    async def refuse(status: int, reason: str, body: bytes, **headers: str) -> web.Response:
        await store.reject(reason, request.method, request.path_qs, request.content_type, body)
        log.rejected(request.path, reason, status)
        return _error(status, reason, **headers)

    if request.method not in _ALLOWED:
        try:
            body = await read_body(request)
        except UnreadableBody as exc:
            body = exc.head
        return await refuse(
            405, f"method {request.method} not allowed", body, Allow=", ".join(_ALLOWED)
        )
    try:
        if request.method == "GET":
            # GET webhooks carry their fields as query parameters: keep them as compact JSON.
            raw = query_payload(request.query.items())
            parsed = event_from_mapping(dict(request.query), raw)
        else:
            raw = await read_body(request)
            parsed = parse_event(raw)
    except UnreadableBody as exc:
        return await refuse(exc.status, str(exc), exc.head)
    except InvalidEvent as exc:
        return await refuse(400, str(exc), raw)
    stored = await store.append(parsed)
    if stored is None:
        log.event(None, parsed.status, duplicate=True)
        return json_response({"ok": True, "duplicate": True})
    request.app[HUB].publish(stored)
    log.event(stored, stored.status)
    return json_response({"ok": True, "id": stored.id, "duplicate": False})


def add_routes(app: web.Application) -> None:
    """Mount the webhook routes (these stay reachable without the page key)."""
    for path in ("/voice/answer", "/voice/fallback"):
        app.router.add_get(path, answer)
        app.router.add_post(path, answer)
    app.router.add_route("*", "/voice/event", event)
