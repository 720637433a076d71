"""Simulated calls through a real vcall serve: the events match the seed call, outcome by outcome."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sandbox_calls import call_events, place_call

#: Sub-second timings so a whole call takes a fraction of a second.
FAST = {"talk_for": 0.01, "answer_after": 0.01, "hold": 0.05}
HEX32 = re.compile(r"^[0-9a-f]{32}$")
DASHED = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
WHOLE_SECOND = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")


def _shape(event: dict) -> list[tuple[str, str]]:
    """Keys in order, each with its JSON type."""
    return [(k, type(v).__name__) for k, v in event.items()]


async def test_answered_call_matches_the_seed_status_by_status(api, sandbox_options, seed_json):
    summary = await place_call(api, outcome="answered", **FAST)
    assert summary["outcome"] == "answered" and summary["errors"] == []
    events = await call_events(sandbox_options, summary["conversation_uuid"])
    seed = seed_json["events"]

    assert [(e["status"], e["direction"]) for e in events] == [
        (e["status"], e["direction"]) for e in seed
    ]
    for got, want in zip(events, seed, strict=True):
        assert _shape(got) == _shape(want), want["status"]

    inbound, app_leg = events[0]["uuid"], events[3]["uuid"]
    assert HEX32.match(inbound) and DASHED.match(app_leg)
    assert all(e["uuid"] == inbound for e in events if e["direction"] == "inbound")
    assert all(e["uuid"] == app_leg for e in events if e["direction"] == "outbound")
    conversation = summary["conversation_uuid"]
    assert conversation.startswith("CON-") and DASHED.match(conversation[4:])
    assert {e["conversation_uuid"] for e in events} == {conversation}
    assert all(TIMESTAMP.match(e["timestamp"]) for e in events)
    assert events[3]["to"] == "Alice" and events[3]["from"] == "441234567890"

    app_done, call_done = events[5], events[6]
    assert (app_done["rate"], app_done["price"], app_done["network"]) == ("0.00", "0", None)
    assert call_done["network"] == "GB-FIXED" and call_done["rate"] == "0.00720000"
    assert call_done["from"] == " 441234567890"  # the seed's leading space
    for done in (app_done, call_done):
        assert WHOLE_SECOND.match(done["start_time"]) and WHOLE_SECOND.match(done["end_time"])
        assert int(done["duration"]) >= 1
    expected = Decimal(call_done["duration"]) * Decimal("0.00720000") / 60
    assert call_done["price"] == f"{expected:.8f}"
    legs = {leg["direction"]: leg for leg in summary["legs"]}
    assert legs["inbound"]["status"] == legs["outbound"]["status"] == "completed"
    assert legs["inbound"]["duration"] == int(call_done["duration"])


@pytest.mark.parametrize(
    ("outcome", "extra"),
    [
        ("rejected", {}),
        ("busy", {}),
        ("failed", {}),
        ("timeout", {"ring_timeout": 0.05}),
        ("cancelled", {"cancel_after": 0.05}),
    ],
)
async def test_unanswered_outcomes(api, sandbox_options, seed_json, outcome, extra):
    summary = await place_call(api, outcome=outcome, **{**FAST, **extra})
    assert summary["outcome"] == outcome
    events = await call_events(sandbox_options, summary["conversation_uuid"])
    assert [(e["status"], e["direction"]) for e in events] == [
        ("ringing", "inbound"),
        ("started", "inbound"),
        ("answered", "inbound"),
        ("started", "outbound"),
        (outcome, "outbound"),  # and no 'completed' for the app leg
        ("completed", "inbound"),
    ]
    # The terminal status has the fields of the app leg's 'started' (seed event 4).
    assert _shape(events[4]) == _shape(seed_json["events"][3])
    assert _shape(events[5]) == _shape(seed_json["events"][6])


async def test_connect_to_a_user_the_application_lacks_fails_the_leg(api, sandbox, platform_server):
    sandbox.provision(str(platform_server.make_url("")).rstrip("/"), user="Bob")
    summary = await place_call(api, outcome="answered", **FAST)
    assert summary["outcome"] == "failed"
    assert any("no user 'Alice'" in e for e in summary["errors"])


async def test_call_needs_a_linked_number(aiohttp_client, sandbox_options):
    from vcall.web.app import create_app

    client = await aiohttp_client(create_app(sandbox_options))  # nothing provisioned
    headers = {"Authorization": f"Bearer {sandbox_options.page_key}"}
    resp = await client.post("/sandbox/calls", json={"outcome": "answered"}, headers=headers)
    assert resp.status == 400
    assert "vcall setup" in (await resp.json())["error"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"hold": -1}, "hold"),
        ({"hold": "5"}, "hold"),
        ({"bogus": 1}, "unknown field"),
        ({"to": "not a number"}, "not a phone number"),
        ([], "JSON object"),
    ],
)
async def test_bad_call_requests_are_refused(api, body, reason):
    resp = await api.post("/sandbox/calls", json=body)
    assert resp.status == 400
    assert reason in (await resp.json())["error"]


async def test_sandbox_routes_need_the_page_key(api):
    api.session.headers.pop("Authorization")
    assert (await api.post("/sandbox/calls", json={})).status == 401
    assert (await api.get("/sandbox/calls/CON-x")).status == 401


async def test_unknown_call_is_404(api):
    assert (await api.get("/sandbox/calls/CON-nope")).status == 404


async def test_live_mode_refuses_simulated_calls(aiohttp_client, sandbox_options):
    from dataclasses import replace

    from vcall.web.app import create_app

    live = replace(sandbox_options, sandbox=False)
    client = await aiohttp_client(create_app(live))
    headers = {"Authorization": f"Bearer {live.page_key}"}
    resp = await client.post("/sandbox/calls", json={}, headers=headers)
    assert resp.status == 409
    assert "live mode" in (await resp.json())["error"]
