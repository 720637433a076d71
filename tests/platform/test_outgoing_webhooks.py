"""What the platform sends to an application's own server: signing, retries, fallback, errors."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from sandbox_calls import place_call

from vcall.signing import payload_hash, query_payload, verify

FAST = {"talk_for": 0.01, "answer_after": 0.01, "hold": 0.02}
NCCO = [
    {"action": "talk", "text": "hello"},
    {"action": "connect", "endpoint": [{"type": "app", "user": "Alice"}]},
]


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class CustomerApp:
    """An application's server: records every request, answers as each path's plan says
    (an HTTP status, "hang" to never answer, anything else: the normal answer)."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    plans: dict[str, list[Any]] = field(default_factory=dict)
    ncco: list[Any] = field(default_factory=lambda: list(NCCO))

    def at(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            Seen(
                request.method,
                request.path,
                list(request.query.items()),
                dict(request.headers),
                body,
            )
        )
        plan = self.plans.get(request.path) or []
        action = plan.pop(0) if plan else None
        if action == "hang":
            await asyncio.Event().wait()  # the platform's socket timeout ends this
        if isinstance(action, int):
            return web.Response(status=action)
        if request.path.endswith("event"):
            return web.json_response({"ok": True})
        return web.json_response(self.ncco)


@pytest.fixture
async def customer(aiohttp_server) -> CustomerApp:
    app_state = CustomerApp()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", app_state.handle)
    server = await aiohttp_server(app)
    app_state.url = str(server.make_url("")).rstrip("/")
    return app_state


def link(
    sandbox, customer: CustomerApp, *, signed: bool = True, answer_method: str = "GET", **timeouts
):
    return sandbox.provision(
        customer.url,
        signed=signed,
        answer={"address": f"{customer.url}/answer", "http_method": answer_method, **timeouts},
        fallback={"address": f"{customer.url}/fallback", "http_method": "POST"},
        event={"address": f"{customer.url}/event", "http_method": "POST"},
    )


@pytest.mark.parametrize("answer_method", ["GET", "POST"])
async def test_every_webhook_is_signed_and_its_hash_matches(api, sandbox, customer, answer_method):
    app_id = link(sandbox, customer, answer_method=answer_method)
    account = sandbox.state.account
    summary = await place_call(api, outcome="answered", **FAST)
    assert summary["outcome"] == "answered"

    (answer,) = customer.at("/answer")
    assert answer.method == answer_method
    signed_payload = query_payload(answer.query) if answer_method == "GET" else answer.body
    fields = dict(answer.query) if answer_method == "GET" else json.loads(answer.body)
    assert list(fields) == ["from", "to", "uuid", "conversation_uuid"]
    events = customer.at("/event")
    assert len(events) == 7
    jtis = set()
    for request, payload in [(answer, signed_payload)] + [(e, e.body) for e in events]:
        scheme, _, token = request.headers["Authorization"].partition(" ")
        assert scheme == "Bearer"
        claims = verify(token, account.signature_secret, payload)
        assert claims["iss"] == "Vonage" and claims["api_key"] == account.api_key
        assert claims["application_id"] == app_id
        assert claims["payload_hash"] == payload_hash(payload)
        jtis.add(claims["jti"])
    assert len(jtis) == 8  # a fresh jti per request


async def test_unsigned_application_sends_no_authorization(api, sandbox, customer):
    link(sandbox, customer, signed=False)
    await place_call(api, outcome="rejected", **FAST)
    assert customer.seen and all("Authorization" not in s.headers for s in customer.seen)


async def test_retryable_answer_failures_retry_once_then_use_the_fallback(api, sandbox, customer):
    link(sandbox, customer)
    customer.plans["/answer"] = [503, 429]
    summary = await place_call(api, outcome="answered", **FAST)
    assert [(r["kind"], r["status"]) for r in summary["answer_requests"]] == [
        ("answer", 503),
        ("answer", 429),
        ("fallback", 200),
    ]
    assert summary["outcome"] == "answered"  # the fallback's NCCO ran
    (fallback,) = customer.at("/fallback")
    body = json.loads(fallback.body)
    assert body["reason"] == "answer URL answered HTTP 429"
    assert body["original_request"] == {"url": f"{customer.url}/answer", "type": "answer_url"}
    assert body["uuid"] == summary["legs"][0]["uuid"]


async def test_other_errors_go_to_the_fallback_without_retry(api, sandbox, customer):
    link(sandbox, customer)
    customer.plans["/answer"] = [404]
    summary = await place_call(api, outcome="rejected", **FAST)
    assert [(r["kind"], r["status"]) for r in summary["answer_requests"]] == [
        ("answer", 404),
        ("fallback", 200),
    ]


async def test_answer_timeout_is_retried_then_falls_back(api, sandbox, customer):
    # Timeouts below Vonage's minimum keep the test fast; the platform takes what the app says.
    link(sandbox, customer, connection_timeout=300, socket_timeout=100)
    customer.plans["/answer"] = ["hang", "hang"]
    summary = await place_call(api, outcome="rejected", **FAST)
    attempts = [(r["kind"], r["status"], r["error"]) for r in summary["answer_requests"]]
    assert attempts == [
        ("answer", None, "timed out"),
        ("answer", None, "timed out"),
        ("fallback", 200, None),
    ]


async def test_no_ncco_anywhere_ends_the_call_with_an_error_event(api, sandbox, customer):
    link(sandbox, customer)
    customer.plans["/answer"] = [500]
    customer.plans["/fallback"] = [503, 503]
    summary = await place_call(api, outcome="answered", **FAST)
    assert summary["outcome"] == "failed" and summary["legs"][0]["status"] == "completed"
    bodies = [json.loads(e.body) for e in customer.at("/event")]
    statuses = [b.get("status") for b in bodies]
    assert statuses == ["ringing", "started", None, "completed"]  # no 'answered'
    error = bodies[2]
    assert set(error) == {"reason", "conversation_uuid", "timestamp"}
    assert "fallback URL answered HTTP 503" in error["reason"]
    assert bodies[3]["duration"] == "0"


async def test_unknown_actions_are_reported_and_skipped(api, sandbox, customer):
    link(sandbox, customer)
    customer.ncco = [{"action": "dance"}, "not an action", {"action": "record"}, *NCCO]
    summary = await place_call(api, outcome="answered", **FAST)
    assert summary["outcome"] == "answered"
    reasons = [json.loads(e.body).get("reason") for e in customer.at("/event")]
    reasons = [r for r in reasons if r]
    assert reasons[0] == "unknown NCCO action 'dance' at index 0; skipped"
    assert reasons[1] == "unknown NCCO action None at index 1; skipped"
    assert "not simulated" in reasons[2]


async def test_connect_event_url_receives_the_app_legs_events(api, sandbox, customer):
    link(sandbox, customer)
    customer.ncco = [{**NCCO[1], "eventUrl": [f"{customer.url}/leg-events"]}]
    await place_call(api, outcome="answered", **FAST)
    leg = [json.loads(e.body)["status"] for e in customer.at("/leg-events")]
    main = [json.loads(e.body)["status"] for e in customer.at("/event")]
    assert leg == ["started", "answered", "completed"]
    assert main == ["ringing", "started", "answered", "completed"]


async def test_an_event_that_cannot_be_delivered_does_not_stop_the_call(api, sandbox, customer):
    link(sandbox, customer)
    customer.plans["/event"] = [503, 503]  # the first event, and its retry
    summary = await place_call(api, outcome="answered", **FAST)
    assert summary["outcome"] == "answered"
    assert summary["errors"] == ["event not delivered: event URL answered HTTP 503"]
    assert len(customer.at("/event")) == 8


async def test_an_ncco_that_connects_nobody_completes_the_call(api, sandbox, customer):
    link(sandbox, customer)
    customer.ncco = [
        {"action": "talk", "text": "We are closed."},
        {"action": "connect", "endpoint": [{"type": "phone", "number": "447700900000"}]},
    ]
    summary = await place_call(api, **FAST)
    assert summary["outcome"] == "completed" and len(summary["legs"]) == 1
    bodies = [json.loads(e.body) for e in customer.at("/event")]
    assert [b.get("status") for b in bodies] == [
        "ringing",
        "started",
        "answered",
        None,
        "completed",
    ]
    assert bodies[3]["reason"] == "connect to a phone endpoint is not simulated; skipped"
