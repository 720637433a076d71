"""The page's WebSocket: sessions with the user's JWT, and calls that ring the page."""

from __future__ import annotations

import time

import aiohttp
import pytest
from sandbox_calls import place_call

from vcall import tokens


@pytest.fixture
def jwt_for(sandbox, platform_server):
    def mint(user: str = "Alice", *, key: str | None = None, **kwargs) -> str:
        app_id = sandbox.state.applications()[0]["id"]
        return tokens.mint(app_id, key or sandbox.private_key, user, **kwargs)

    return mint


class Page:
    """A page's socket: replies matched by id, events queued in arrival order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict] = []

    async def request(self, rid: int, **message) -> dict:
        await self.ws.send_json({"id": rid, **message})
        while True:
            reply = await self.ws.receive_json(timeout=5)
            if reply.get("id") == rid:
                return reply
            self.events.append(reply)

    async def next_event(self, kind: str) -> dict:
        while True:
            message = self.events.pop(0) if self.events else await self.ws.receive_json(timeout=5)
            if message.get("type") == kind:
                return message


@pytest.fixture
def connect(api):
    async def open_page(token: str | None = None) -> Page:
        page = Page(await api.ws_connect("/sandbox/rtc"))
        if token is not None:
            reply = await page.request(0, type="session", token=token)
            assert reply["type"] == "session:success", reply
        return page

    return open_page


async def test_session_with_the_users_jwt(connect, jwt_for, sandbox):
    ws = await connect()
    reply = await ws.request(1, type="session", token=jwt_for())
    assert reply["type"] == "session:success"
    assert reply["body"]["name"] == "Alice" and reply["body"]["id"].startswith("SESSION-")
    assert reply["body"]["user_id"] == sandbox.state.user_by_name("Alice")["id"]
    assert (await ws.request(2, type="refresh", token=jwt_for()))["type"] == "ok"
    refused = await ws.request(3, type="refresh", token=jwt_for("Bob"))
    assert refused["code"] == "session:error:invalid-user"


async def test_bad_tokens_are_refused_with_sdk_codes(connect, jwt_for, app_key):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    ws = await connect()
    cases = {
        "": "session:error:empty-token",
        "not-a-jwt": "session:error:invalid-token",
        jwt_for(key=other): "session:error:invalid-token",
        jwt_for("Bob"): "session:error:invalid-user",
        jwt_for(ttl=1, now=int(time.time()) - 10): "session:error:expired-token",
    }
    for rid, (token, code) in enumerate(cases.items()):
        reply = await ws.request(rid, type="session", token=token)
        assert (reply["type"], reply["code"]) == ("error", code)
    # Without a session the page cannot act on calls.
    reply = await ws.request(99, type="answer", callId="x")
    assert reply["code"] == "session:error:no-active-session"


async def test_expired_session_is_told_and_no_longer_rung(connect, jwt_for, api):
    now = time.time()
    # exp is in whole seconds: leave the token 0.5 to 1.5 s to live.
    ws = await connect(jwt_for(ttl=1 if now % 1 < 0.5 else 2, now=int(now)))
    assert (await ws.next_event("sessionError"))["reason"] == "EXPIRED_TOKEN"
    summary = await place_call(api, ring_timeout=0.05, talk_for=0)
    assert summary["pages"] == 0 and summary["outcome"] == "timeout"


async def test_page_answers_then_hangs_up(connect, jwt_for, api):
    ws = await connect(jwt_for())
    resp = await api.post("/sandbox/calls", json={"talk_for": 0, "from": "447700900123"})
    call = await resp.json()
    invite = await ws.next_event("callInvite")
    assert invite["from"] == "447700900123" and invite["channelType"] == "phone"
    assert (await ws.request(1, type="answer", callId=invite["callId"]))["type"] == "ok"
    assert (await ws.next_event("legStatusUpdate"))["status"] == "ANSWERED"
    assert (await ws.request(2, type="hangup", callId=invite["callId"]))["type"] == "ok"
    resp = await api.get(f"/sandbox/calls/{call['conversation_uuid']}", params={"wait": "5"})
    summary = await resp.json()
    assert summary["ended"] and summary["outcome"] == "answered" and summary["pages"] == 1
    assert summary["legs"][1]["uuid"] == invite["callId"]


async def test_second_page_loses_the_race(connect, jwt_for, api):
    first, second = await connect(jwt_for()), await connect(jwt_for())
    await api.post("/sandbox/calls", json={"talk_for": 0, "hold": 0.05})
    invite = await first.next_event("callInvite")
    await second.next_event("callInvite")
    assert (await first.request(1, type="answer", callId=invite["callId"]))["type"] == "ok"
    cancel = await second.next_event("callInviteCancel")
    assert cancel["reason"] == "AnsweredElsewhere"
    late = await second.request(1, type="answer", callId=invite["callId"])
    assert late["code"] == "invalid-state"
    # --hold with a page: the caller hangs up after it.
    hangup = await first.next_event("callHangup")
    assert hangup["reason"] == "REMOTE_HANGUP"


@pytest.mark.parametrize(
    ("call", "reason", "outcome"),
    [
        ({"ring_timeout": 0.05}, "RemoteTimeout", "timeout"),
        ({"cancel_after": 0.05}, "RemoteCancel", "cancelled"),
    ],
)
async def test_invite_withdrawn(connect, jwt_for, api, call, reason, outcome):
    ws = await connect(jwt_for())
    resp = await api.post("/sandbox/calls", json={"talk_for": 0, **call})
    cid = (await resp.json())["conversation_uuid"]
    invite = await ws.next_event("callInvite")
    cancel = await ws.next_event("callInviteCancel")
    assert (cancel["callId"], cancel["reason"]) == (invite["callId"], reason)
    summary = await (await api.get(f"/sandbox/calls/{cid}", params={"wait": "5"})).json()
    assert summary["outcome"] == outcome


async def test_page_reject_and_closing_mid_call(connect, jwt_for, api):
    ws = await connect(jwt_for())
    await api.post("/sandbox/calls", json={"talk_for": 0})
    invite = await ws.next_event("callInvite")
    assert (await ws.request(1, type="reject", callId=invite["callId"]))["type"] == "ok"

    resp = await api.post("/sandbox/calls", json={"talk_for": 0})
    cid = (await resp.json())["conversation_uuid"]
    invite = await ws.next_event("callInvite")
    await ws.request(2, type="answer", callId=invite["callId"])
    await ws.ws.close()  # the tab closes mid-call: that is a hang-up
    summary = await (await api.get(f"/sandbox/calls/{cid}", params={"wait": "5"})).json()
    assert summary["ended"] and summary["outcome"] == "answered"


async def test_socket_needs_the_key_and_same_origin(api, sandbox_options):
    key = api.session.headers.pop("Authorization")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await api.ws_connect("/sandbox/rtc")
    assert refused.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
        await api.ws_connect(
            "/sandbox/rtc", headers={"Authorization": key, "Origin": "https://evil.example"}
        )
    assert foreign.value.status == 403
