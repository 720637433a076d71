"""Reading a webhook's body: bounded in size and time, read once and kept on the request."""

from __future__ import annotations

import asyncio

from aiohttp import web

from vcall._errors import BodyTimeout, BodyTooLarge, UnreadableBody

#: Largest webhook body accepted; Vonage's events are a few hundred bytes.
MAX_BODY = 64 * 1024
#: Seconds a client may take to send its whole body (slow senders must not hold a handler).
BODY_TIMEOUT = 10.0
_BODY = web.RequestKey("body", bytes)


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
            raise _too_large(body[:MAX_BODY])
        request[_BODY] = body
        return body
    if _BODY in request:
        return request[_BODY]
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            if request.content_length is not None and request.content_length > MAX_BODY:
                raise _too_large(await request.content.read(MAX_BODY))
            async for chunk in request.content.iter_chunked(MAX_BODY):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY:
                    raise _too_large(b"".join(chunks)[:MAX_BODY])
    except TimeoutError:
        raise BodyTimeout(f"body not received within {BODY_TIMEOUT:g} s") from None
    except ConnectionError:
        # The client hung up mid-body: answered like any unreadable body (aiohttp drops the
        # answer quietly when it finds the connection gone).
        raise UnreadableBody("connection lost before the whole body arrived") from None
    request[_BODY] = body = b"".join(chunks)
    return body


def _too_large(head: bytes) -> BodyTooLarge:
    return BodyTooLarge(f"body is larger than {MAX_BODY // 1024} KiB", head)


def kept_body(request: web.Request) -> bytes | None:
    """The body :func:`read_body` read and kept, or None if it was not read (or not whole)."""
    return request.get(_BODY)
