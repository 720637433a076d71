"""The calls inspector's API (behind the page key), for the page beside the phone.

``GET /api/calls`` pages the recent calls, newest first (:mod:`vcall.calls`), narrowed by
outcome (``status``) and ``number``, or finds one by conversation or leg id (``q``);
``GET /api/calls/{conversation}`` is one call's webhooks: its answer requests as received with
what was answered, then its events as stored; ``POST /api/calls/{conversation}/replay`` sends
the call's webhooks again to ``{"to": URL}``, signed, through the code of ``vcall replay``, and
reports each response code. The page follows a call as it goes on through the event stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web
from yarl import URL

from vcall._errors import InvalidInput, NotFound, RemoteError
from vcall.answer_requests import answer_json, around
from vcall.calls import (
    PAGE_DEFAULT,
    PAGE_MAX,
    STATUSES,
    CallFilter,
    find_call,
    recent_calls,
    summarise,
)
from vcall.config import load_settings
from vcall.feed import FeedEvent
from vcall.replay import deliver, delivery_json, replay_report, signer_for, stored_webhooks
from vcall.web.access import guarded
from vcall.web.answers import json_response
from vcall.web.api import int_param
from vcall.web.keys import STORE

if TYPE_CHECKING:
    from vcall.paths import Paths

#: Most events one call's page shows (real calls have a dozen).
CALL_EVENTS_MAX = 1000
#: The longest replay target accepted.
MAX_URL = 2000


@dataclass(frozen=True)
class ReplaySigning:
    """Where the settings are and the secret this server checks: a replay from the page is
    signed as ``vcall replay`` signs, with that secret."""

    paths: Paths
    secret: str | None


SIGNING = web.AppKey("replay_signing", ReplaySigning)


async def list_calls(request: web.Request) -> web.Response:
    """``GET /api/calls?before=&limit=&status=&number=&q=``: a page of calls, newest first;
    ``next`` is the ``before`` of the page after it (null: none)."""
    query = request.query
    store = request.app[STORE]
    if term := query.get("q", "").strip():
        found = await find_call(store, term)
        calls = [found.to_dict()] if found else []
        return json_response({"ok": True, "calls": calls, "next": None, "scanned": 0})
    status = query.get("status") or None
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of: {', '.join(STATUSES)}")
    before = int_param(query, "before", 0, 1) or None
    limit = int_param(query, "limit", PAGE_DEFAULT, 1, PAGE_MAX)
    wanted = CallFilter(status=status, number=query.get("number", "").strip() or None)
    page = await recent_calls(store, before=before, limit=limit, wanted=wanted)
    return json_response(
        {
            "ok": True,
            "calls": [call.to_dict() for call in page.calls],
            "next": page.next,
            "scanned": page.scanned,
        }
    )


async def one_call(request: web.Request) -> web.Response:
    """``GET /api/calls/{conversation}``: the call, its answer requests and its events."""
    conversation = request.match_info["conversation"]
    store = request.app[STORE]
    events = await store.calls_events([conversation], newest=CALL_EVENTS_MAX)
    if not events:
        raise NotFound(f"no stored events for {conversation}")
    since, until = around(events[0].received_at, events[-1].received_at)
    answers = await store.answers(conversation, since=since, until=until)
    return json_response(
        {
            "ok": True,
            "call": summarise(conversation, events).to_dict(),
            "answers": [answer_json(answer) for answer in answers],
            "events": [FeedEvent.from_stored(event).to_dict() for event in events],
            "truncated": len(events) == CALL_EVENTS_MAX,
        }
    )


async def replay_call(request: web.Request) -> web.Response:
    """``POST /api/calls/{conversation}/replay`` with ``{"to": URL}``: the call's webhooks
    sent again to ``URL``, each response reported as ``vcall replay --json`` does."""
    to = _target(await request.read())
    hooks = await stored_webhooks(
        request.app[STORE], conversations=[request.match_info["conversation"]]
    )
    signing = request.app[SIGNING]
    signer = signer_for(load_settings(signing.paths, signature_secret=signing.secret))
    deliveries: list[dict[str, Any]] = []
    try:
        async for done in deliver(to, hooks, signer=signer):
            deliveries.append(delivery_json(done))
    except RemoteError as exc:
        report = {"ok": False, "error": str(exc), **replay_report(to, signer, deliveries)}
        return json_response(report, status=exc.status)
    return json_response({"ok": True, **replay_report(to, signer, deliveries)})


def _target(body: bytes) -> str:
    """The replay's target URL from the request body, checked."""
    try:
        data = msgspec.json.decode(body or b"{}")
    except (msgspec.DecodeError, RecursionError):
        raise InvalidInput('the body must be JSON: {"to": "http://…"}') from None
    to = data.get("to") if isinstance(data, dict) else None
    if not isinstance(to, str) or not to.strip():
        raise InvalidInput("'to' must be the URL to send the call's webhooks to")
    to = to.strip()
    try:
        url = URL(to)
    except ValueError:
        url = None
    if len(to) > MAX_URL or url is None or url.scheme not in ("http", "https") or not url.host:
        raise InvalidInput(f"'to' must be an http:// or https:// URL, not {to[:80]!r}")
    return to


def add_routes(app: web.Application, paths: Paths, secret: str | None) -> None:
    """Mount the inspector's routes, behind the page key."""
    app[SIGNING] = ReplaySigning(paths, secret)
    app.router.add_get("/api/calls", guarded(list_calls))
    app.router.add_get("/api/calls/{conversation}", guarded(one_call))
    app.router.add_post("/api/calls/{conversation}/replay", guarded(replay_call))
