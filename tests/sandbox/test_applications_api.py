"""Applications API v2 in the sandbox, checked against Vonage's published spec."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from vcall.sandbox.rest import spec
from vcall.tokens import public_key_pem

APPS = spec.load("application")


def assert_valid(path: str, method: str, status: int, body: object) -> None:
    validator = APPS.response_validator(path, method, status)
    assert validator is not None, f"the spec has no schema for {method} {path} {status}"
    errors = [e.message for e in validator.iter_errors(body)]
    assert not errors, errors


async def test_create_without_key_returns_a_pkcs8_private_key_once(api, basic, make_app, state):
    app = await make_app()
    assert_valid("/", "post", 201, app)
    private = app["keys"]["private_key"]
    assert private.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, what vonage_jwt takes
    load_pem_private_key(private.encode(), None)
    assert public_key_pem(private).split() == app["keys"]["public_key"].split()

    resp = await api.get(f"/v2/applications/{app['id']}", headers=basic)
    again = await resp.json()
    assert resp.status == 200
    assert_valid("/{id}", "get", 200, again)
    assert "private_key" not in again["keys"]
    assert "private_key" not in str(state.application(app["id"]))


async def test_defaults_fill_in_voice_timeouts(make_app, state):
    app = await make_app()
    hooks = state.application(app["id"])["capabilities"]["voice"]["webhooks"]
    assert hooks["answer_url"] == {
        "address": "http://127.0.0.1:3000/voice/answer",
        "http_method": "GET",
        "connection_timeout": 1000,
        "socket_timeout": 5000,
    }
    assert hooks["event_url"]["socket_timeout"] == 10000
    assert state.application(app["id"])["capabilities"]["voice"]["signed_callbacks"] is True


async def test_wrong_credentials_get_a_problem_json_401(api):
    resp = await api.get("/v2/applications", auth=None, headers={"Authorization": "Basic eDp5"})
    body = await resp.json()
    assert resp.status == 401
    assert resp.content_type == "application/problem+json"
    assert body["title"] == "Unauthorized" and body["type"].startswith("https://")
    assert "instance" in body


@pytest.mark.parametrize(
    ("hook", "field", "value", "reason"),
    [
        ("answer_url", "connection_timeout", 100, "must be between 300 and 1000"),
        ("answer_url", "socket_timeout", 6000, "must be between 1000 and 5000"),
        ("event_url", "socket_timeout", 20000, "must be between 1000 and 10000"),
        ("answer_url", "http_method", "PUT", "must be one of: GET, POST"),
        ("answer_url", "connect_timeout", 1200, "must be between 300 and 1000"),
    ],
)
async def test_out_of_range_webhook_settings_are_400_with_invalid_parameters(
    api, basic, hook, field, value, reason
):
    voice = {"webhooks": {hook: {"address": "https://example.com/x", field: value}}}
    resp = await api.post(
        "/v2/applications", json={"name": "x", "capabilities": {"voice": voice}}, headers=basic
    )
    body = await resp.json()
    assert resp.status == 400
    assert_valid("/", "post", 400, body)
    # The SDK's spelling is reported under the spec's name.
    name = "connection_timeout" if field == "connect_timeout" else field
    assert {"name": f"capabilities.voice.webhooks.{hook}.{name}", "reason": reason} in body[
        "invalid_parameters"
    ]


async def test_missing_name_and_bad_address_are_refused(api, basic):
    resp = await api.post("/v2/applications", json={}, headers=basic)
    assert resp.status == 400
    assert (await resp.json())["invalid_parameters"] == [{"name": "name", "reason": "is required"}]
    voice = {"webhooks": {"answer_url": {"address": "not a url"}}}
    resp = await api.post(
        "/v2/applications", json={"name": "x", "capabilities": {"voice": voice}}, headers=basic
    )
    assert resp.status == 400
    assert (await resp.json())["invalid_parameters"][0]["reason"] == "must be an http(s) URL"


@pytest.mark.parametrize("spelling", ["connection_timeout", "connect_timeout"])
async def test_both_timeout_spellings_are_accepted_and_noted(api, basic, state, spelling):
    voice = {"webhooks": {"answer_url": {"address": "https://example.com/a", spelling: 500}}}
    resp = await api.post(
        "/v2/applications", json={"name": "x", "capabilities": {"voice": voice}}, headers=basic
    )
    app = await resp.json()
    assert resp.status == 201
    answer = app["capabilities"]["voice"]["webhooks"]["answer_url"]
    assert answer["connection_timeout"] == 500 and "connect_timeout" not in answer
    assert state.request_log()[-1]["notes"] == [f"answer_url.{spelling}"]


async def test_list_pages_and_links(api, basic, make_app):
    ids = [(await make_app(name=f"app{i}"))["id"] for i in range(3)]
    resp = await api.get("/v2/applications", params={"page_size": "2", "page": "2"}, headers=basic)
    body = await resp.json()
    assert_valid("/", "get", 200, body)
    assert (body["page"], body["page_size"], body["total_items"], body["total_pages"]) == (
        2,
        2,
        3,
        2,
    )
    assert [a["id"] for a in body["_embedded"]["applications"]] == ids[2:]
    assert "next" not in body["_links"] and "page=1" in body["_links"]["prev"]["href"]
    resp = await api.get("/v2/applications", params={"page_size": "101"}, headers=basic)
    assert resp.status == 400
    assert (await resp.json())["invalid_parameters"][0]["name"] == "page_size"


async def test_put_replaces_webhooks_and_keeps_the_key(api, basic, make_app, state):
    app = await make_app()
    voice = {"webhooks": {"answer_url": {"address": "https://new.example/voice/answer"}}}
    resp = await api.put(
        f"/v2/applications/{app['id']}",
        json={"name": "renamed", "capabilities": {"voice": voice}},
        headers=basic,
    )
    body = await resp.json()
    assert resp.status == 200
    assert_valid("/{id}", "put", 200, body)
    stored = state.application(app["id"])
    assert stored["name"] == "renamed"
    assert stored["keys"]["public_key"] == app["keys"]["public_key"]
    assert stored["capabilities"]["voice"]["webhooks"]["answer_url"]["address"] == (
        "https://new.example/voice/answer"
    )


async def test_delete_unlinks_numbers_and_drops_users(api, basic, make_app, state):
    app = await make_app()
    with state.transaction() as doc:
        doc["numbers"]["442038297050"]["app_id"] = app["id"]
        doc["users"][app["id"]] = {"USR-1": {"id": "USR-1", "name": "Alice"}}
    resp = await api.delete(f"/v2/applications/{app['id']}", headers=basic)
    assert resp.status == 204
    assert state.application(app["id"]) is None
    assert state.users(app["id"]) == []
    assert "app_id" not in state.number("442038297050")
    resp = await api.delete(f"/v2/applications/{app['id']}", headers=basic)
    assert resp.status == 404
    assert (await resp.json())["title"] == "Not Found"
