"""The Client SDK's side of vcall serve (sandbox): sessions with the user's JWT over /v2/rtc/,
and calls that ring them, answered through the Conversation API (python-socketio + aiortc)."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

import aiohttp
import pytest
import socketio
from sandbox_calls import place_call

from vcall import keygen, tokens
from vcall._errors import SessionRefused, VcallError
from vcall.sandbox.voice.sdk_client import SdkClient


@pytest.fixture
def jwt_for(sandbox, platform_server):
    def mint(user: str = "Alice", *, key: str | None = None, **kwargs) -> str:
        app_id = sandbox.state.applications()[0]["id"]
        return tokens.mint(app_id, key or sandbox.private_key, user, **kwargs)

    return mint


@pytest.fixture
async def connect(platform_server, api, sandbox_options):
    """Sign a device in, as a page does (the page key in the query string); devices close
    before the server does (after `api`, which stops it)."""
    opened: list[SdkClient] = []
    url = str(platform_server.make_url("")).rstrip("/")

    async def open_device(token: str | None = None) -> SdkClient:
        device = SdkClient(url, sandbox_options.page_key)
        opened.append(device)
        if token is not None:
            await device.create_session(token)
        return device

    yield open_device
    for device in opened:
        await device.close()


async def test_session_with_the_users_jwt(connect, jwt_for, sandbox):
    device = await connect()
    session = await device.create_session(jwt_for())
    assert session.startswith("SESSION-")
    assert device.user_id == sandbox.state.user_by_name("Alice")["id"]
    await device.refresh_session(jwt_for())
    with pytest.raises(VcallError) as refused:
        await device.refresh_session(jwt_for("Bob"))
    assert refused.value.code == "user:error:invalid-user"


async def test_bad_tokens_are_refused_with_sdk_codes(connect, jwt_for, api, sandbox_options):
    other = keygen.new_key_pair()[0]
    cases = {
        "": "session:error:empty-token",
        "not-a-jwt": "session:error:invalid-token",
        jwt_for(key=other): "session:error:invalid-token",
        jwt_for("Bob"): "session:error:invalid-token",  # the SDK's name for user:error:invalid-user
        jwt_for(ttl=1, now=int(time.time()) - 10): "session:error:expired-token",
    }
    for token, code in cases.items():
        device = await connect()
        with pytest.raises(SessionRefused) as refused:
            await device.create_session(token)
        assert refused.value.code == code
    # Without a session the page cannot act on calls.
    resp = await api.put(
        "/v0.3/conversations/CON-x/members/MEM-x",
        json={"originating_session": "SESSION-x", "state": "joined"},
        headers={"Authorization": f"bearer {jwt_for()}"},  # the JWT's place: the key goes in
        params={"key": sandbox_options.page_key},  # the query string, as the SDK client's does
    )
    assert resp.status == 404 and (await resp.json())["code"] == "conversation:error:not-found"


async def test_expired_session_is_told_and_no_longer_rung(connect, jwt_for, api):
    now = time.time()
    # exp is in whole seconds: leave the token 0.5 to 1.5 s to live.
    device = await connect(jwt_for(ttl=1 if now % 1 < 0.5 else 2, now=int(now)))
    await device.disconnected.wait()  # the server closed the socket: EXPIRED_TOKEN in the SDK
    summary = await place_call(api, ring_timeout=0.05, talk_for=0)
    assert summary["pages"] == 0 and summary["outcome"] == "timeout"


async def test_a_session_is_connected_first_and_ended_by_a_disconnect(
    platform_server, jwt_for, sandbox_options
):
    """What the real SDK needs to report the end as sessionError("EXPIRED_TOKEN"): the socket
    connected before ``session:success`` (else it never notes the socket as connected), and a
    socket.io DISCONNECT, not a dropped transport (which it reconnects)."""
    seen: list[str] = []
    ended = asyncio.Event()
    sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    sio.on("connect", lambda: seen.append("connect"))
    sio.on("session:success", lambda _message: seen.append("session:success"))

    def disconnected(reason: str) -> None:
        seen.append(reason)
        ended.set()

    sio.on("disconnect", disconnected)
    now = time.time()
    token = jwt_for(ttl=1 if now % 1 < 0.5 else 2, now=int(now))  # 0.5 to 1.5 s to live
    query = urlencode({"token": token, "key": sandbox_options.page_key})
    url = str(platform_server.make_url("")).rstrip("/")
    await sio.connect(f"{url}?{query}", transports=["websocket"], socketio_path="v2/rtc")
    try:
        await asyncio.wait_for(ended.wait(), 5)
    finally:
        await sio.disconnect()
    assert seen == ["connect", "session:success", sio.reason.SERVER_DISCONNECT]


async def test_page_answers_then_hangs_up(connect, jwt_for, api):
    device = await connect(jwt_for())
    resp = await api.post("/sandbox/calls", json={"talk_for": 0, "from": "447700900123"})
    call = await resp.json()
    invite = await device.next_event("member:invited")
    channel = invite["body"]["channel"]
    assert channel["from"] == {"type": "phone", "number": "447700900123"}
    assert await device.answer(invite)
    assert (await device.next_event("leg:status:update"))["body"]["status"] == "answered"
    await device.hangup(invite)
    resp = await api.get(f"/sandbox/calls/{call['conversation_uuid']}", params={"wait": "5"})
    summary = await resp.json()
    assert summary["ended"] and summary["outcome"] == "answered" and summary["pages"] == 1
    assert summary["legs"][1]["uuid"] == channel["id"]


async def test_second_page_loses_the_race(connect, jwt_for, api):
    first, second = await connect(jwt_for()), await connect(jwt_for())
    await api.post("/sandbox/calls", json={"talk_for": 0, "hold": 0.3})
    invite = await first.next_event("member:invited")
    await second.next_event("member:invited")
    assert await first.answer(invite)
    joined = await second.next_event("member:joined")  # AnsweredElsewhere
    assert joined["body"]["member_id"] == invite["body"]["member_id"]
    with pytest.raises(VcallError) as late:
        await second.answer(invite)
    assert late.value.code == "conversation:error:invalid-member-state"
    # --hold with a page: the caller hangs up after it.
    hangup = await first.next_event("rtc:hangup")
    assert hangup["body"]["reason"]["code"] == "REMOTE_HANGUP"


@pytest.mark.parametrize(
    ("call", "sip_code", "outcome"),
    [
        ({"ring_timeout": 0.05}, 487, "timeout"),  # the SDK's RemoteTimeout
        ({"cancel_after": 0.05}, 480, "cancelled"),  # RemoteCancel
    ],
)
async def test_invite_withdrawn(connect, jwt_for, api, call, sip_code, outcome):
    device = await connect(jwt_for())
    resp = await api.post("/sandbox/calls", json={"talk_for": 0, **call})
    cid = (await resp.json())["conversation_uuid"]
    invite = await device.next_event("member:invited")
    hangup = await device.next_event("rtc:hangup")
    assert hangup["body"]["channel"]["id"] == invite["body"]["channel"]["id"]
    assert hangup["body"]["reason"]["sip_code"] == sip_code
    await device.next_event("member:left")
    summary = await (await api.get(f"/sandbox/calls/{cid}", params={"wait": "5"})).json()
    assert summary["outcome"] == outcome


async def test_page_reject_and_closing_mid_call(connect, jwt_for, api):
    device = await connect(jwt_for())
    await api.post("/sandbox/calls", json={"talk_for": 0})
    await device.reject(await device.next_event("member:invited"))

    resp = await api.post("/sandbox/calls", json={"talk_for": 0})
    cid = (await resp.json())["conversation_uuid"]
    assert await device.answer(await device.next_event("member:invited"))
    await device.close()  # the tab closes mid-call: that is a hang-up
    summary = await (await api.get(f"/sandbox/calls/{cid}", params={"wait": "5"})).json()
    assert summary["ended"] and summary["outcome"] == "answered"


async def test_socket_needs_the_key_and_same_origin(api, sandbox_options):
    key = api.session.headers.pop("Authorization")
    path = "/v2/rtc/?EIO=4&transport=websocket"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await api.ws_connect(path)
    assert refused.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as foreign:
        await api.ws_connect(path, headers={"Authorization": key, "Origin": "https://evil.example"})
    assert foreign.value.status == 403


async def test_the_conversation_api_needs_the_key_and_same_origin(api, jwt_for, sandbox_options):
    api.session.headers.pop("Authorization")  # the page key's header: the JWT takes its place
    path = "/v0.3/conversations/CON-x"
    jwt = {"Authorization": f"bearer {jwt_for()}"}
    assert (await api.get(path, headers=jwt)).status == 401
    key = {"key": sandbox_options.page_key}
    foreign = await api.get(path, headers={**jwt, "Origin": "https://evil.example"}, params=key)
    assert foreign.status == 403
    assert (await api.get(path, headers=jwt, params=key)).status == 404  # past both: no such call


@pytest.mark.parametrize(
    ("sandbox_mode", "region", "expected"),
    [
        (
            True,
            "us",
            {"apiUrl": "{origin}", "websocketUrl": "{origin}", "rtcStatsTelemetry": False},
        ),
        (
            False,
            "eu",
            {"apiUrl": "https://api-eu.vonage.com", "websocketUrl": "https://ws-eu.vonage.com"},
        ),
    ],
    ids=["sandbox", "live-eu"],
)
async def test_the_page_is_told_where_its_sdk_goes(
    aiohttp_client, sandbox, sandbox_options, sandbox_mode, region, expected
):
    from dataclasses import replace

    from vcall.web.app import create_app

    options = replace(sandbox_options, sandbox=sandbox_mode, region=region)
    client = await aiohttp_client(create_app(options))
    sandbox.provision(str(client.make_url("")).rstrip("/"))
    resp = await client.get("/api/token", params={"key": options.page_key})
    origin = str(client.make_url("")).rstrip("/")
    config = (await resp.json())["config"]
    assert config == {
        k: v.format(origin=origin) if isinstance(v, str) else v for k, v in expected.items()
    }
