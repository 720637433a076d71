"""The event API (behind the page key): ``GET /api/events`` pages, ``GET /api/events/stream`` SSE.

Both speak the feed format of :mod:`vcall.feed`. The stream starts with a backlog (the
newest ``last`` events, or everything after the client's ``Last-Event-ID``), sends a
``ready`` event whose ``id`` is the cursor reached, then every new event as it is stored,
each with ``id:`` = its store cursor. Comment lines keep idle connections alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from vcall._errors import InvalidInput, StoreError
from vcall.events import StoredEvent
from vcall.feed import READY, STREAM_PATH, FeedEvent
from vcall.store import EventStore
from vcall.web.access import guarded
from vcall.web.hub import EventHub
from vcall.web.keys import HUB, STORE

logger = logging.getLogger("vcall.web")

#: Seconds between keep-alive comments on an idle stream (tests turn it down).
HEARTBEAT = web.AppKey("stream_heartbeat", float)
_STREAMS = web.AppKey("event_streams", set[EventSourceResponse])
PAGE_DEFAULT, PAGE_MAX = 100, 1000
#: Most backlog events a stream sends on connect without a cursor.
LAST_MAX = 1000
#: Rows read per query while a stream catches up after a cursor.
_CATCH_UP_PAGE = 500
_MAX_INT = 2**63 - 1


def int_param(
    values: Mapping[str, str], name: str, default: int, low: int, high: int | None = None
) -> int:
    """An integer query parameter (or header) within bounds, else a 400 saying which."""
    text = values.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer, not {text!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidInput(f"{name} must be {bound}")
    if value > _MAX_INT:  # SQLite integers are 64-bit: a larger one cannot even be bound
        raise InvalidInput(f"{name} must be at most {_MAX_INT}")
    return value


async def list_events(request: web.Request) -> web.Response:
    """``GET /api/events?conversation=&after=&limit=``: one page of events in store order.

    ``next`` is the ``after`` for the following page, or null when this page was the last.
    """
    after = int_param(request.query, "after", 0, 0)
    limit = int_param(request.query, "limit", PAGE_DEFAULT, 1, PAGE_MAX)
    conversation = request.query.get("conversation") or None
    rows = await request.app[STORE].events(after=after, limit=limit, conversation=conversation)
    return web.json_response(
        {
            "ok": True,
            "events": [FeedEvent.from_stored(e).to_dict() for e in rows],
            "next": rows[-1].id if len(rows) == limit else None,
        }
    )


async def stream_events(request: web.Request) -> web.StreamResponse:
    """``GET /api/events/stream?conversation=&last=&after=``: Server-Sent Events.

    A ``Last-Event-ID`` header (or ``after``) resumes after that cursor; without one the
    stream opens with the newest ``last`` events (default 0).
    """
    cursor_header = "Last-Event-ID" if "Last-Event-ID" in request.headers else None
    if cursor_header:
        cursor: int | None = int_param(request.headers, cursor_header, 0, 0)
    elif request.query.get("after"):
        cursor = int_param(request.query, "after", 0, 0)
    else:
        cursor = None
    last = int_param(request.query, "last", 0, 0, LAST_MAX)
    conversation = request.query.get("conversation") or None
    streams = request.app[_STREAMS]
    async with sse_response(request, sep="\n", ping_interval=request.app[HEARTBEAT]) as resp:
        streams.add(resp)
        pump = asyncio.create_task(
            _pump(resp, request.app[STORE], request.app[HUB], cursor, last, conversation)
        )
        # The pump ending (client gone, store error) ends the response, and the response
        # ending (heartbeat could not be written, server shutting down) stops the pump.
        pump.add_done_callback(lambda _task: resp.stop_streaming())
        try:
            await resp.wait()
        finally:
            streams.discard(resp)
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
    return resp


async def _pump(
    resp: EventSourceResponse,
    store: EventStore,
    hub: EventHub,
    cursor: int | None,
    last: int,
    conversation: str | None,
) -> None:
    """Send the backlog, ``ready``, then live events, each exactly once and in store order.

    The hub queues every event stored after its head, so the backlog is read from the store
    up to that head at least; anything at or below the cursor already sent is skipped.
    """
    sent = cursor
    ready = False
    try:
        while True:  # once, unless the hub drops us for lagging: then catch up and resubscribe
            async with hub.subscribe() as (head, queue):
                if sent is None:
                    backlog = await store.last_events(last, conversation=conversation)
                    sent = await _send_all(resp, backlog, 0)
                else:
                    while True:
                        page = await store.events(
                            after=sent, limit=_CATCH_UP_PAGE, conversation=conversation
                        )
                        sent = await _send_all(resp, page, sent)
                        if len(page) < _CATCH_UP_PAGE or sent >= head:
                            break
                # Nothing matching up to head is left unsent: resume from there.
                sent = max(sent, head)
                if not ready:
                    await resp.send(f'{{"cursor":{sent}}}', id=str(sent), event=READY)
                    ready = True
                while (event := await queue.get()) is not None:
                    if event.id <= sent or (
                        conversation and event.conversation_uuid != conversation
                    ):
                        continue
                    sent = await _send_all(resp, [event], sent)
    except (ConnectionResetError, TimeoutError):
        return  # the client went away or stopped reading
    except StoreError as exc:
        logger.warning("event stream ended: %s", exc)
    except Exception:
        # A background task: log the bug with its traceback rather than lose it.
        logger.exception("event stream failed")


async def _send_all(resp: EventSourceResponse, events: list[StoredEvent], sent: int) -> int:
    """Send ``events``; returns the newest cursor sent (or ``sent`` when none)."""
    for event in events:
        await resp.send(FeedEvent.from_stored(event).to_json(), id=str(event.id))
        sent = event.id
    return sent


async def _end_streams(app: web.Application) -> None:
    """On shutdown, end every open stream so the server stops at once, not after a timeout.

    Clients see the stream end and reconnect (to the next server) with ``Last-Event-ID``.
    """
    for resp in list(app[_STREAMS]):
        resp.stop_streaming()


def add_routes(app: web.Application, *, heartbeat: float = 15.0) -> None:
    """Mount ``/api/events`` and ``/api/events/stream``, behind the page key."""
    app[HEARTBEAT] = heartbeat
    app[_STREAMS] = set()
    app.on_shutdown.append(_end_streams)
    app.router.add_get("/api/events", guarded(list_events))
    app.router.add_get(STREAM_PATH, guarded(stream_events))
