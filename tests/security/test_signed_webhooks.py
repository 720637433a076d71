"""Signed webhooks: only requests Vonage signed reach the answer and event handlers."""

from __future__ import annotations

import json
import time

import pytest
from recorded_call import RecordedCall

from vcall.web.app import ServeOptions, create_app
from vcall.web.signed import ReplayGuard, is_loopback, startup_warnings

OTHER_SECRET = "another-signature-secret-0123456789abcdef"
EVENT = b'{"uuid":"u1","status":"started","timestamp":"t1"}'


async def test_signed_seed_call_is_answered_and_stored(
    client, reader, seed: RecordedCall, sign_body, sign_query
):
    query = list(seed.answer_query.items())
    resp = await client.get("/voice/answer", params=query, headers=sign_query(query))
    assert resp.status == 200
    assert [a["action"] for a in await resp.json()] == ["talk", "connect"]
    for body in seed.event_bodies():
        resp = await client.post("/voice/event", data=body, headers=sign_body(body))
        assert resp.status == 200, await resp.text()
    assert [e.raw for e in await reader.events()] == seed.event_bodies()
    assert await reader.rejected() == []


async def test_signed_post_answer_and_get_event(client, reader, sign_body, sign_query):
    body = json.dumps({"from": "441234567890", "to": "442038297050", "uuid": "u"}).encode()
    resp = await client.post("/voice/answer", data=body, headers=sign_body(body))
    assert resp.status == 200 and (await resp.json())[1]["from"] == "441234567890"
    query = [("uuid", "g1"), ("status", "ringing")]
    resp = await client.get("/voice/event", params=query, headers=sign_query(query))
    assert resp.status == 200
    assert await reader.count() == 1


def _ago(seconds: int) -> int:
    return int(time.time()) - seconds


#: name, headers from (sign_body, sign_query), the reason the server gives.
FORGERIES = [
    ("unsigned", lambda b, q: {}, "missing signature"),
    ("basic auth", lambda b, q: {"Authorization": "Basic YWJjOmRlZg=="}, "missing signature"),
    ("empty bearer", lambda b, q: {"Authorization": "Bearer "}, "missing signature"),
    ("garbage token", lambda b, q: {"Authorization": "Bearer not.a.jwt"}, "bad signature"),
    ("other secret", lambda b, q: b(EVENT, secret=OTHER_SECRET), "bad signature"),
    ("other body", lambda b, q: b(EVENT + b" "), "payload_hash"),
    ("too old", lambda b, q: b(EVENT, now=_ago(301)), "too old"),
    ("from the future", lambda b, q: b(EVENT, now=_ago(-301)), "future"),
    ("query signature on a body", lambda b, q: q([("uuid", "u1")]), "payload_hash"),
]


@pytest.mark.parametrize(
    ("make_headers", "reason"), [f[1:] for f in FORGERIES], ids=[f[0] for f in FORGERIES]
)
async def test_forged_event_is_401_and_filed_never_stored(
    client, reader, sign_body, sign_query, make_headers, reason
):
    headers = make_headers(sign_body, sign_query)
    resp = await client.post("/voice/event", data=EVENT, headers=headers)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    payload = await resp.json()
    assert payload["ok"] is False and reason in payload["error"]
    assert await reader.count() == 0
    (filed,) = await reader.rejected()
    assert reason in filed.reason and filed.body == EVENT and filed.path == "/voice/event"


async def test_replayed_token_is_refused(client, reader, sign_body):
    headers = sign_body(EVENT)
    assert (await client.post("/voice/event", data=EVENT, headers=headers)).status == 200
    again = await client.post("/voice/event", data=EVENT, headers=headers)
    assert again.status == 401 and "already used" in (await again.json())["error"]
    assert await reader.count() == 1
    (filed,) = await reader.rejected()
    assert "replayed" in filed.reason
    # A fresh signature on the same event is a repeat delivery: 200, stored once.
    resp = await client.post("/voice/event", data=EVENT, headers=sign_body(EVENT))
    assert (await resp.json())["duplicate"] is True


async def test_get_signature_covers_query_order(client, reader, sign_query):
    signed_as = [("to", "442038297050"), ("from", "441234567890")]
    headers = sign_query(signed_as)
    reordered = list(reversed(signed_as))
    resp = await client.get("/voice/answer", params=reordered, headers=headers)
    assert resp.status == 401 and "payload_hash" in (await resp.json())["error"]
    (filed,) = await reader.rejected()
    assert filed.method == "GET" and filed.path.startswith("/voice/answer?")
    assert json.loads(filed.body) == dict(reordered)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/voice/answer"), ("POST", "/voice/fallback"), ("GET", "/voice/unknown")],
)
async def test_every_voice_route_needs_a_signature(client, reader, method, path):
    resp = await client.request(method, path, params={"from": "441234567890"})
    assert resp.status == 401
    assert len(await reader.rejected()) == 1
    assert (await client.get("/healthz")).status == 200


async def test_oversized_unsigned_body_is_413(client, reader):
    resp = await client.post("/voice/event", data=b"x" * (70 * 1024))
    assert resp.status == 413
    (filed,) = await reader.rejected()
    assert len(filed.body) == 64 * 1024


async def test_no_verify_accepts_unsigned(aiohttp_client, options: ServeOptions, tmp_path):
    from dataclasses import replace

    app = create_app(replace(options, verify_signatures=False))
    client = await aiohttp_client(app)
    assert (await client.post("/voice/event", data=EVENT)).status == 200


def test_replay_guard_forgets_after_the_window():
    now = [1000.0]
    guard = ReplayGuard(window=300, clock=lambda: now[0])
    assert guard.first_use("a", iat=1000) is True
    assert guard.first_use("a", iat=1000) is False
    now[0] = 1200.0
    assert guard.first_use("b", iat=1200) is True
    assert guard.first_use("a", iat=1000) is False  # still inside a's window
    now[0] = 1301.0  # a's window is over: its token would fail the age check anyway
    assert guard.first_use("c", iat=1301) is True
    assert len(guard) == 2  # b and c only: memory holds one window, no more


def test_startup_warnings():
    assert startup_warnings("127.0.0.1", secret="s", verify=True) == []
    assert startup_warnings("0.0.0.0", secret="s", verify=True) == []
    (only,) = startup_warnings("127.0.0.1", secret="s", verify=False)
    assert "--no-verify" in only
    (only,) = startup_warnings("::1", secret=None, verify=True)
    assert "no signature secret" in only
    both = startup_warnings("0.0.0.0", secret="s", verify=False)
    assert len(both) == 2 and "not loopback" in both[1]
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")


def test_webhook_secret_sandbox_always_has_one(monkeypatch):
    from vcall import state as state_file
    from vcall.config import load_settings
    from vcall.modes import webhook_secret
    from vcall.paths import Paths
    from vcall.sandbox.account import SandboxState

    paths = Paths.default()
    sandbox_secret = SandboxState.open(paths).account.signature_secret
    # Nothing set up: the sandbox still signs, so vcall serve still checks.
    assert webhook_secret(load_settings(paths), sandbox=True) == sandbox_secret
    assert webhook_secret(load_settings(paths), sandbox=False) is None
    state_file.save(paths, {"signature_secret": "saved-by-setup-0123456789abcdef"})
    assert webhook_secret(load_settings(paths), sandbox=True) == sandbox_secret
    assert webhook_secret(load_settings(paths), sandbox=False) == "saved-by-setup-0123456789abcdef"
    monkeypatch.setenv("VONAGE_SIGNATURE_SECRET", OTHER_SECRET)
    assert webhook_secret(load_settings(paths), sandbox=True) == OTHER_SECRET  # given on purpose
    assert webhook_secret(load_settings(paths), sandbox=True, flag="flag-secret") == "flag-secret"
