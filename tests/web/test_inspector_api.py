"""The calls inspector's API on a real server: calls listed from the store, one call's
webhooks as received, replay to a URL with each response code."""

from __future__ import annotations

import json
import socket
from urllib.parse import parse_qsl

import pytest
from polling import kept_answers
from recorded_call import RecordedCall, send_call

from vcall.web.app import ServeOptions, create_app

CONVERSATION = "CON-8f5a100c-fbce-4218-8d4b-16341335bcd6"


@pytest.fixture
def key(options: ServeOptions) -> dict[str, str]:
    return {"Authorization": f"Bearer {options.page_key}"}


@pytest.fixture
async def seeded(client, server, seed: RecordedCall, reader) -> None:
    """The seed call received through the real webhooks, its answer request written."""
    assert {d.status for d in await send_call(str(server.make_url("")), seed)} == {200}
    await kept_answers(reader, CONVERSATION, 1)


async def test_calls_need_the_key(client):
    for path in ("/api/calls", f"/api/calls/{CONVERSATION}"):
        assert (await client.get(path)).status == 401
    assert (await client.post(f"/api/calls/{CONVERSATION}/replay", json={"to": "x"})).status == 401


async def test_the_seed_call_is_listed_and_opens_to_its_webhooks(
    client, key, seeded, seed: RecordedCall, reader
):
    listed = await (await client.get("/api/calls", headers=key)).json()
    assert listed["next"] is None
    (call,) = listed["calls"]
    assert {k: call[k] for k in ("conversation_uuid", "caller", "called", "outcome")} == {
        "conversation_uuid": CONVERSATION,
        "caller": "441234567890",
        "called": "442038297050",
        "outcome": "answered",
    }
    assert (call["ended"], call["duration"], call["price"], call["legs"]) == (
        True,
        "12",
        "0.00144000",
        2,
    )

    opened = await (await client.get(f"/api/calls/{CONVERSATION}", headers=key)).json()
    assert opened["call"] == call and opened["truncated"] is False
    (answer,) = opened["answers"]
    assert (answer["method"], answer["path"], answer["status"]) == ("GET", "/voice/answer", 200)
    assert dict(parse_qsl(answer["query"])) == seed.answer_query
    assert [a["action"] for a in json.loads(answer["response"])] == ["talk", "connect"]
    stored = await reader.events(conversation=CONVERSATION)
    assert [e["id"] for e in opened["events"]] == [e.id for e in stored]
    assert [e["event"] for e in opened["events"]] == seed.events
    assert [e["received_at"] for e in opened["events"]] == [e.received_at for e in stored]


async def test_search_by_conversation_or_leg(client, key, seeded, seed: RecordedCall):
    app_leg = seed.events[3]["uuid"]
    for term in (CONVERSATION, app_leg, f"  {app_leg} "):
        found = await (await client.get("/api/calls", params={"q": term}, headers=key)).json()
        assert [c["conversation_uuid"] for c in found["calls"]] == [CONVERSATION]
    none = await (await client.get("/api/calls", params={"q": "CON-x"}, headers=key)).json()
    assert none["calls"] == []
    for params in ({"status": "answered"}, {"number": "+44 1234 567890"}):
        kept = await (await client.get("/api/calls", params=params, headers=key)).json()
        assert len(kept["calls"]) == 1
    for params in ({"status": "busy"}, {"number": "447700900000"}):
        assert (await (await client.get("/api/calls", params=params, headers=key)).json())[
            "calls"
        ] == []


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"status": "ringin"}, "status must be one of"),
        ({"limit": "0"}, "limit must be between"),
        ({"limit": "500"}, "limit must be between"),
        ({"before": "0"}, "before must be at least 1"),
        ({"before": "x"}, "before must be an integer"),
    ],
)
async def test_bad_list_requests(client, key, params, error):
    resp = await client.get("/api/calls", params=params, headers=key)
    assert resp.status == 400 and error in (await resp.json())["error"]


async def test_an_unknown_call_is_a_404(client, key):
    resp = await client.get("/api/calls/CON-nope", headers=key)
    assert resp.status == 404 and "CON-nope" in (await resp.json())["error"]
    replay = await client.post(
        "/api/calls/CON-nope/replay", json={"to": "http://127.0.0.1:9"}, headers=key
    )
    assert replay.status == 404


async def test_replay_sends_the_call_to_a_url_and_reports_each_code(
    client, key, seeded, aiohttp_server, tmp_path, options
):
    target = create_app(ServeOptions(store=tmp_path / "target.db", quiet=True))
    other = await aiohttp_server(target)
    to = str(other.make_url("")).rstrip("/")
    resp = await client.post(f"/api/calls/{CONVERSATION}/replay", json={"to": to}, headers=key)
    report = await resp.json()
    assert resp.status == 200 and report["ok"] is True
    assert (report["target"], report["sent"], report["accepted"]) == (to, 8, 8)
    assert [(d["method"], d["path"], d["status"]) for d in report["deliveries"][:2]] == [
        ("GET", "/voice/answer", 200),
        ("POST", "/voice/event", 200),
    ]
    # Again: the target has every event already, and says so (still 200).
    again = await (
        await client.post(f"/api/calls/{CONVERSATION}/replay", json={"to": to}, headers=key)
    ).json()
    assert again["accepted"] == 8


async def test_replay_to_nowhere_says_so(client, key, seeded):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    resp = await client.post(f"/api/calls/{CONVERSATION}/replay", json={"to": closed}, headers=key)
    report = await resp.json()
    assert resp.status == 502 and report["ok"] is False
    assert report["error"].startswith(f"cannot reach {closed}") and report["deliveries"] == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"nope",
        b"[]",
        b'{"to": 5}',
        b'{"to": "ftp://x/"}',
        b'{"to": "http://"}',
        b'{"to": " "}',
    ],
)
async def test_replay_needs_an_http_url(client, key, body):
    resp = await client.post(f"/api/calls/{CONVERSATION}/replay", data=body, headers=key)
    assert resp.status == 400
    assert "'to'" in (await resp.json())["error"] or "JSON" in (await resp.json())["error"]
