"""The webhooks Vonage calls: answer (and fallback) returns the NCCO; event stores events.

Each answer request is kept as received with what was answered (:func:`recording`), written
with the store's next batch: the answer never waits for that. An event is acknowledged only
after the store has committed it. Anything that is not a
call event gets a 4xx with the reason and is filed in the store's ``rejected`` table. When the
store cannot take the event (disk full, I/O error), the answer is 503 with ``Retry-After``:
Vonage retries a webhook that fails, so the event comes again once the store recovers.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from typing import Any

import msgspec
from aiohttp import web

from vcall._errors import (
    InvalidEvent,
    InvalidInput,
    NotAllowed,
    NotFound,
    StoreError,
    UnreadableBody,
)
from vcall.answer_requests import NOT_CHECKED, AnswerRequest, call_ids, elapsed_ms
from vcall.events import event_from_mapping, parse_event, utc_now
from vcall.signing import query_payload
from vcall.store import EventStore
from vcall.web.answers import failure, filed_refusal, json_response
from vcall.web.body import kept_body, read_body
from vcall.web.keys import LOG, NCCO, STORE
from vcall.web.signed import SIGNATURE, WebhookVerifier, verifying

logger = logging.getLogger("vcall.web")

_ALLOWED = ("GET", "POST")
#: HEAD is GET without the body (aiohttp leaves it out).
_ANSWER_METHODS = (*_ALLOWED, "HEAD")


class VoiceHandlers:
    """The answer and event handlers, bound to one app's store, NCCO builder and log.

    Bound once, as the routes are added: looking them up on ``request.app`` (a Python call to
    aiohttp each) cost 1% of an event webhook's instructions. A stored event reaches the
    streams through the store (vcall.web.hub), not from here.
    """

    def __init__(self, app: web.Application) -> None:
        self.store, self.ncco, self.log = app[STORE], app[NCCO], app[LOG]

    async def answer(self, request: web.Request) -> web.Response:
        """``GET|POST /voice/answer`` (and ``/voice/fallback``): the NCCO for this call."""
        params: Any
        if request.method not in _ANSWER_METHODS:
            allow = ", ".join(_ALLOWED)
            return failure(NotAllowed(f"method {request.method} not allowed"), Allow=allow)
        if request.method == "POST":
            try:
                params = msgspec.json.decode(await read_body(request) or b"{}")
            except UnreadableBody as exc:
                return failure(exc)
            except (msgspec.DecodeError, RecursionError):
                return failure(InvalidInput("answer body is not JSON"))
            if not isinstance(params, dict):
                return failure(InvalidInput("answer body must be a JSON object"))
        else:
            params = request.query
        caller = params.get("from")
        if caller is not None and not isinstance(caller, str):
            return failure(InvalidInput("field 'from' must be a string"))
        self.log.answer(caller, request.path)
        return json_response(self.ncco.build(caller))

    async def event(self, request: web.Request) -> web.Response:
        """``POST|GET /voice/event``: commit the event, then acknowledge it."""
        method = request.method
        try:
            if method == "POST":
                raw = await read_body(request)
                parsed = parse_event(raw)
            elif method == "GET":
                # GET webhooks carry their fields as query parameters: keep them as compact JSON.
                raw = query_payload(request.query.items())
                parsed = event_from_mapping(dict(request.query), raw)
            else:
                try:
                    body = await read_body(request)
                except UnreadableBody as exc:
                    body = exc.head
                allow = ", ".join(_ALLOWED)
                return await filed_refusal(
                    request, NotAllowed(f"method {method} not allowed"), body, Allow=allow
                )
        except UnreadableBody as exc:
            return await filed_refusal(request, exc, exc.head)
        except InvalidEvent as exc:
            return await filed_refusal(request, exc, raw)
        try:
            stored = await self.store.append(parsed)
        except StoreError as exc:
            return await self._not_stored(request, exc, raw)
        if stored is None:
            self.log.event(None, parsed.status, duplicate=True)
            return json_response({"ok": True, "duplicate": True})
        self.log.event(stored, stored.status)
        return json_response({"ok": True, "id": stored.id, "duplicate": False})

    async def _not_stored(
        self, request: web.Request, error: StoreError, raw: bytes
    ) -> web.Response:
        """503 with Retry-After: the store failed. The body goes to ``rejected`` if the store
        takes that much. While the store is down (it said so once, and says when it is back)
        the failures are not logged one by one."""
        if self.store.health() is None:
            logger.warning(
                "%s %s answered %d: %s", request.method, request.path, error.status, error
            )
        with contextlib.suppress(StoreError):
            await self.store.reject(
                str(error), request.method, request.path_qs, request.content_type, raw
            )
        return failure(error)


async def unknown(request: web.Request) -> web.Response:
    """Any other ``/voice/`` path: 404 (signed like the rest when signatures are checked)."""
    return failure(NotFound(f"no webhook at {request.path}: use /voice/answer and /voice/event"))


def recording(handler: web.Handler, store: EventStore) -> web.Handler:
    """``handler`` for answer requests, each kept as received with its answer
    (:class:`~vcall.answer_requests.AnswerRequest`), signature check included."""

    @functools.wraps(handler)
    async def recorded(request: web.Request) -> web.StreamResponse:
        started, arrived = time.perf_counter(), utc_now()
        response = await handler(request)
        took = elapsed_ms(started)
        body = kept_body(request)
        conversation, leg = call_ids(request.query, body)
        answered = response.body if isinstance(response, web.Response) else None
        # tuple.__new__: a named tuple's own constructor is a Python function (once per answer).
        store.record_answer(
            tuple.__new__(
                AnswerRequest,
                (
                    arrived,
                    conversation,
                    leg,
                    request.path,
                    request.method,
                    request.rel_url.raw_query_string,
                    body,
                    request.get(SIGNATURE, NOT_CHECKED),
                    response.status,
                    answered if isinstance(answered, bytes) else b"",
                    took,
                ),
            )
        )
        return response

    return recorded


def add_routes(app: web.Application, verifier: WebhookVerifier | None = None) -> None:
    """Mount the webhook routes (no page key: Vonage cannot know it); with a ``verifier``,
    only requests Vonage signed reach them. Each takes every method and answers a wrong one
    itself, so no request to ``/voice/`` gets past the signature check."""
    hooks = VoiceHandlers(app)
    routes = {
        "/voice/answer": hooks.answer,
        "/voice/fallback": hooks.answer,
        "/voice/event": hooks.event,
    }
    routes["/voice/{path:.*}"] = unknown  # last: the paths above are matched first
    for path, handler in routes.items():
        route = verifying(handler, verifier) if verifier else handler
        if handler == hooks.answer:
            route = recording(route, hooks.store)
        app.router.add_route("*", path, route)
