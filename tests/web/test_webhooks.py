"""The answer and event webhooks against a real server and SQLite file."""

from __future__ import annotations

import json

import jsonschema
import pytest
from recorded_call import RecordedCall


async def test_answer_ncco_passes_schema_and_carries_caller(
    client, seed: RecordedCall, ncco_schema
):
    resp = await client.get("/voice/answer", params=seed.answer_query)
    assert resp.status == 200
    assert resp.content_type == "application/json"
    ncco = await resp.json()
    jsonschema.validate(ncco, ncco_schema)
    assert [a["action"] for a in ncco] == ["talk", "connect"]
    assert ncco[0]["text"] == "Thank you for calling. Please wait while we connect you."
    assert ncco[1]["from"] == "441234567890"
    assert ncco[1]["endpoint"] == [{"type": "app", "user": "Alice"}]


@pytest.mark.parametrize("path", ["/voice/answer", "/voice/fallback"])
async def test_answer_post_json_strips_whitespace(client, ncco_schema, path):
    resp = await client.post(
        path, json={"from": " 441234567890 ", "to": "442038297050", "uuid": "u"}
    )
    ncco = await resp.json()
    jsonschema.validate(ncco, ncco_schema)
    assert ncco[1]["from"] == "441234567890"


async def test_withheld_caller_still_gets_a_valid_ncco(client, ncco_schema):
    ncco = await (await client.get("/voice/answer", params={"from": "Restricted"})).json()
    jsonschema.validate(ncco, ncco_schema)
    assert "from" not in ncco[1] and ncco[1]["randomFromNumber"] is True


async def test_seed_events_stored_byte_for_byte_once(client, reader, seed: RecordedCall):
    bodies = seed.event_bodies()
    for _round in range(2):  # the second round is a repeat delivery of every event
        for body in bodies:
            resp = await client.post(
                "/voice/event", data=body, headers={"Content-Type": "application/json"}
            )
            assert resp.status == 200
    stored = await reader.events(limit=100)
    assert [e.raw for e in stored] == bodies
    assert [e.status for e in stored] == [e["status"] for e in seed.events]
    last = stored[-1]
    assert (last.from_, last.to, last.duration, last.price) == (
        "441234567890",
        "442038297050",
        "12",
        "0.00144000",
    )
    assert await reader.count() == 7
    assert await reader.rejected() == []


async def test_fields_are_stored_stripped_and_numbers_as_text(client, reader):
    """A hand-written client may pad the fields or send numbers: the columns get the text the
    platform would send, and the raw body is kept as it came."""
    body = (
        b'{"uuid": " u1 ", "status": "completed ", "conversation_uuid": " CON-1",'
        b' "direction": "inbound ", "from": " 447700900001", "to": "447700900002 ",'
        b' "timestamp": " 2026-12-03T10:00:00.000Z ", "duration": 12, "price": 0.5}'
    )
    assert (await client.post("/voice/event", data=body)).status == 200
    (stored,) = await reader.events()
    columns = (stored.uuid, stored.status, stored.conversation_uuid, stored.direction)
    assert columns == ("u1", "completed", "CON-1", "inbound")
    assert (stored.from_, stored.to) == ("447700900001", "447700900002")
    assert (stored.timestamp, stored.duration, stored.price) == (
        "2026-12-03T10:00:00.000Z",
        "12",
        "0.5",
    )
    assert stored.raw == body


async def test_repeat_delivery_reports_duplicate(client, seed: RecordedCall):
    body = seed.event_bodies()[0]
    first = await (await client.post("/voice/event", data=body)).json()
    again = await (await client.post("/voice/event", data=body)).json()
    assert first["duplicate"] is False and first["id"] >= 1
    assert again == {"ok": True, "duplicate": True}


async def test_get_event_from_query_params(client, reader):
    resp = await client.get(
        "/voice/event", params={"uuid": "abc", "status": "started", "from": "447700900001"}
    )
    assert resp.status == 200
    (stored,) = await reader.events()
    assert json.loads(stored.raw) == {"uuid": "abc", "status": "started", "from": "447700900001"}


BAD_EVENTS = [
    ("not json", "POST", b"hello", 400, "not JSON"),
    ("truncated json", "POST", b'{"uuid": "a", "status":', 400, "not JSON"),
    ("json array", "POST", b"[1, 2, 3]", 400, "JSON object"),
    ("json string", "POST", b'"started"', 400, "JSON object"),
    ("json null", "POST", b"null", 400, "JSON object"),
    ("empty body", "POST", b"", 400, "not JSON"),
    ("missing uuid", "POST", b'{"status": "started"}', 400, "missing 'uuid'"),
    ("missing status", "POST", b'{"uuid": "a"}', 400, "missing 'status'"),
    ("blank uuid", "POST", b'{"uuid": "  ", "status": "started"}', 400, "missing 'uuid'"),
    (
        "uuid is a number",
        "POST",
        b'{"uuid": 5, "status": "started"}',
        400,
        "'uuid' must be a string",
    ),
    (
        "status is a list",
        "POST",
        b'{"uuid": "a", "status": ["x"]}',
        400,
        "'status' must be a string",
    ),
    (
        "from is an object",
        "POST",
        b'{"uuid": "a", "status": "s", "from": {}}',
        400,
        "'from' must be",
    ),
    (
        "duration is bool",
        "POST",
        b'{"uuid": "a", "status": "s", "duration": true}',
        400,
        "'duration'",
    ),
    (
        "headers is a string",
        "POST",
        b'{"uuid": "a", "status": "s", "headers": "x"}',
        400,
        "'headers'",
    ),
    ("invalid utf-8", "POST", b'{"uuid": "\xff\xfe", "status": "s"}', 400, "not JSON"),
    (
        "malformed after a bad field",
        "POST",
        b'{"uuid": 5, "status": "s", oops}',
        400,
        "not JSON",
    ),
    ("nested too deeply", "POST", b'{"uuid": "a", "x": ' + b"[" * 20000, 400, "nested too deeply"),
    (
        "headers nested too deeply",
        "POST",
        b'{"uuid": "a", "status": "s", "headers": ' + b'{"h": ' * 5000,
        400,
        "nested too deeply",
    ),
    (
        "body over 64 KiB",
        "POST",
        b'{"uuid": "a", "status": "s", "pad": "' + b"x" * 70000 + b'"}',
        413,
        "64 KiB",
    ),
    ("PUT", "PUT", b'{"uuid": "a", "status": "s"}', 405, "PUT not allowed"),
    ("DELETE", "DELETE", b"", 405, "DELETE not allowed"),
    ("GET without fields", "GET", b"", 400, "missing 'uuid'"),
]


@pytest.mark.parametrize(
    ("method", "body", "status", "reason"),
    [case[1:] for case in BAD_EVENTS],
    ids=[case[0] for case in BAD_EVENTS],
)
async def test_bad_event_is_refused_and_filed(client, reader, method, body, status, reason):
    resp = await client.request(method, "/voice/event", data=body)
    assert resp.status == status
    payload = await resp.json()
    assert payload["ok"] is False and reason in payload["error"]
    assert await reader.count() == 0
    (filed,) = await reader.rejected()
    assert reason in filed.reason and filed.method == method
    # GET webhooks are filed as their query parameters in compact JSON.
    assert filed.body == (b"{}" if method == "GET" else body[: 64 * 1024])
    assert (await client.get("/healthz")).status == 200


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/voice/answer", {"data": b"nope"}, 400),
        ("POST", "/voice/answer", {"data": b"[1]"}, 400),
        ("POST", "/voice/answer", {"json": {"from": 441234567890}}, 400),
        ("POST", "/voice/answer", {"data": b"x" * 70000}, 413),
        ("DELETE", "/voice/answer", {}, 405),
        ("PATCH", "/voice/fallback", {}, 405),
        ("GET", "/voice/no-such-route", {}, 404),
        ("POST", "/healthz", {}, 405),
    ],
)
async def test_bad_answer_requests(client, method, path, kwargs, status):
    resp = await client.request(method, path, **kwargs)
    assert resp.status == status
    assert (await resp.json())["ok"] is False
    assert (await client.get("/healthz")).status == 200


async def test_concurrent_events_all_committed(client, reader):
    import asyncio

    bodies = [
        json.dumps({"uuid": f"u{i}", "status": "started", "timestamp": f"t{i}"}).encode()
        for i in range(300)
    ]
    responses = await asyncio.gather(*(client.post("/voice/event", data=b) for b in bodies))
    assert {r.status for r in responses} == {200}
    ids = {(await r.json())["id"] for r in responses}
    assert len(ids) == 300
    assert await reader.count() == 300


async def test_vonage_error_report_is_kept(client, reader):
    """Vonage reports NCCO/answer-URL failures as {reason, conversation_uuid, timestamp}."""
    body = b'{"reason":"answer_url returned no NCCO","conversation_uuid":"CON-1","timestamp":"2021-03-29T21:20:05.582Z"}'
    resp = await client.post("/voice/event", data=body)
    assert resp.status == 200
    (stored,) = await reader.events()
    assert (stored.status, stored.uuid, stored.conversation_uuid, stored.raw) == (
        "error",
        "CON-1",
        "CON-1",
        body,
    )
    assert (await client.post("/voice/event", data=b'{"reason": "x"}')).status == 400
