"""The Client SDK's protocol from Python (python-socketio client + aiortc): sign-in and its
refusals, ringing every session, answering with real media, the other sessions told, rejects,
withdrawn invites, late sign-in, expiry and refresh, and bad input on every route."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from vcall import keygen, tokens
from vcall._errors import SessionRefused, VcallError
from vcall.sandbox.voice.client_sessions import SOCKET_PATH, ClientSessions
from vcall.sandbox.voice.conversation_api import ConversationApi
from vcall.sandbox.voice.ringing import Ring, Rings
from vcall.sandbox.voice.sdk_client import SdkClient
from vcall.sandbox.voice.sdk_messages import AppLeg

KEY = "page-key"


@dataclass
class Server:
    url: str
    app_id: str
    private_key: str
    user: dict[str, Any]
    sessions: ClientSessions
    rings: Rings

    def token(self, user: str = "Alice", **kwargs: Any) -> str:
        return tokens.mint(self.app_id, kwargs.pop("key", self.private_key), user, **kwargs)

    async def device(self, **kwargs: Any) -> SdkClient:
        client = SdkClient(self.url, KEY)
        await client.create_session(self.token(**kwargs))
        return client

    async def ring(
        self, caller: str = "447700900123", *, private: bool = False, devices=None
    ) -> Ring:
        leg = AppLeg(
            f"CON-{uuid.uuid4()}",
            f"MEM-{uuid.uuid4()}",
            str(uuid.uuid4()),
            self.user["id"],
            self.user["name"],
            caller,
            self.app_id,
        )
        if devices is None:
            devices = self.sessions.of_user(self.user["id"])
        ring = Ring(leg, devices, private=private)
        self.rings.track(ring)
        await ring.offer()
        return ring


@pytest.fixture
async def server(aiohttp_server, sandbox) -> Server:
    app_id = sandbox.provision("http://127.0.0.1:9")
    state = sandbox.state
    rings = Rings()
    sessions = ClientSessions(state, rings)
    app = web.Application()
    app.router.add_route("*", SOCKET_PATH, sessions.handle)
    for method, path, handler in ConversationApi(state, sessions, rings).routes():
        app.router.add_route(method, path, handler)

    async def close(app: web.Application) -> None:
        for ring in rings.all():
            await ring.close()
        await sessions.close()

    app.on_shutdown.append(close)
    running = await aiohttp_server(app)
    url = str(running.make_url("")).rstrip("/")
    return Server(url, app_id, sandbox.private_key, state.user_by_name("Alice"), sessions, rings)


@pytest.fixture
async def devices():
    opened: list[SdkClient] = []
    yield opened
    for client in opened:
        await client.close()


async def test_sign_in_answers_session_success(server, devices):
    client = SdkClient(server.url, KEY)
    devices.append(client)
    session = await client.create_session(server.token())
    assert session.startswith("SESSION-") and client.user_id == server.user["id"]
    assert server.sessions.of_user(server.user["id"])[0].id == session


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda s: "not-a-jwt", "session:error:invalid-token"),
        (lambda s: s.token(key=keygen.new_key_pair()[0]), "session:error:invalid-token"),
        (lambda s: s.token("Bob"), "session:error:invalid-token"),
        (lambda s: s.token(ttl=1, now=int(time.time()) - 10), "session:error:expired-token"),
        (lambda s: s.token(acl={"paths": {"/*/users/**": {}}}), "system:error:permission"),
        (
            lambda s: tokens.mint(str(uuid.uuid4()), s.private_key, "Alice"),
            "session:error:invalid-token",
        ),
    ],
    ids=["garbage", "forged", "unknown-user", "expired", "acl", "other-app"],
)
async def test_refused_tokens_get_the_sdks_codes(server, devices, make, code):
    client = SdkClient(server.url, KEY)
    devices.append(client)
    with pytest.raises(SessionRefused) as refused:
        await client.create_session(make(server))
    assert refused.value.code == code
    await asyncio.wait_for(client.disconnected.wait(), 5)  # and the socket is closed
    assert server.sessions.of_user(server.user["id"]) == []


async def test_every_session_rings_and_the_first_to_answer_takes_it(server, devices):
    first, second = await server.device(), await server.device()
    devices += [first, second]
    ring = await server.ring("447700900123")
    invite = await first.next_event("member:invited")
    assert invite == await second.next_event("member:invited")
    body = invite["body"]
    # What the SDK needs to ring at all (it drops the invite otherwise).
    assert body["sdp"].startswith("v=0") and "127.0.0.1" in body["sdp"]
    assert body["channel"]["from"] == {"type": "phone", "number": "447700900123"}
    assert body["media"]["audio_settings"]["enabled"] is True
    assert body["user"]["id"] == first.user_id and invite["cid"] == ring.leg.conversation_id

    assert await first.answer(invite)  # the media reached `connected`
    assert await ring.decision(1) == "answered"
    joined = await second.next_event("member:joined")
    assert joined["body"]["member_id"] == body["member_id"]
    assert (await first.next_event("leg:status:update"))["body"]["status"] == "answered"
    with pytest.raises(VcallError) as late:
        await second.answer(invite)
    assert (late.value.status, late.value.code) == (409, "conversation:error:invalid-member-state")

    await ring.end("REMOTE_HANGUP")
    hangup = await first.next_event("rtc:hangup")
    assert hangup["body"]["reason"] == {
        "text": "the caller hung up",
        "code": "REMOTE_HANGUP",
        "sip_code": 200,
    }
    assert hangup["body"]["bandwidth"]["bytes_in"] > 0  # audio really flowed


async def test_hang_up_from_the_device(server, devices):
    device = await server.device()
    devices.append(device)
    ring = await server.ring()
    invite = await device.next_event("member:invited")
    assert await device.answer(invite)
    await device.hangup(invite)
    assert await ring.user_hung_up(1) and ring.state == "completed"


async def test_reject_is_told_to_the_sessions_once_answered(server, devices):
    rejecting, other = await server.device(), await server.device()
    devices += [rejecting, other]
    ring = await server.ring()
    invite = await rejecting.next_event("member:invited")
    await other.next_event("member:invited")
    await rejecting.reject(invite)  # answered before anyone is told (the page test's point)
    assert await ring.decision(1) == "rejected"
    for device in (other, rejecting):  # the reject names no session: all are told
        left = await device.next_event("member:left")
        assert left["body"]["reason"]["code"] == "REMOTE_REJECT"
        await device.next_event("rtc:hangup")  # after member:left: RejectedElsewhere


@pytest.mark.parametrize(
    ("outcome", "reason"), [("busy", "REMOTE_BUSY"), ("failed", "REMOTE_FAILURE")]
)
async def test_declining_with_a_reason(server, devices, outcome, reason):
    device = await server.device()
    devices.append(device)
    ring = await server.ring()
    await device.reject(await device.next_event("member:invited"), reason)
    assert await ring.decision(1) == outcome


@pytest.mark.parametrize(
    ("why", "sip_code", "state"),
    [("RemoteTimeout", 487, "timeout"), ("RemoteCancel", 480, "cancelled")],
)
async def test_withdrawn_invite(server, devices, why, sip_code, state):
    device = await server.device()
    devices.append(device)
    ring = await server.ring()
    await device.next_event("member:invited")
    assert await ring.withdraw(why)
    hangup = await device.next_event("rtc:hangup")
    assert hangup["body"]["reason"]["sip_code"] == sip_code  # 487 is the SDK's RemoteTimeout
    await device.next_event("member:left")
    assert ring.state == state and not await ring.withdraw(why)


async def test_a_session_signing_in_while_it_rings_gets_the_invite(server, devices):
    early = await server.device()
    devices.append(early)
    ring = await server.ring()
    late = await server.device()
    devices.append(late)
    invite = await late.next_event("member:invited")
    assert invite["body"]["channel"]["id"] == ring.leg.leg_id
    assert await late.answer(invite)


async def test_a_private_ring_stays_with_its_device(server, devices):
    own = await server.device()
    devices.append(own)
    (session,) = server.sessions.of_user(server.user["id"])
    ring = await server.ring(private=True, devices=[session])
    await own.next_event("member:invited")
    other = await server.device()
    devices.append(other)
    with pytest.raises(TimeoutError):
        await other.next_event("member:invited", timeout=0.3)
    assert ring.devices == [session]


async def test_closing_the_socket_mid_call_hangs_up(server, devices):
    device = await server.device()
    ring = await server.ring()
    assert await device.answer(await device.next_event("member:invited"))
    await device.close()
    assert await ring.user_hung_up(5)


async def test_expiry_closes_the_socket_unless_refreshed(server, devices):
    now = time.time()
    ttl = 1 if now % 1 < 0.5 else 2  # exp is in whole seconds: 0.5 to 1.5 s left
    expiring = await server.device(ttl=ttl, now=int(now))
    refreshed = await server.device(ttl=ttl, now=int(now))
    devices += [expiring, refreshed]
    await refreshed.refresh_session(server.token(ttl=60))
    await asyncio.wait_for(expiring.disconnected.wait(), 5)
    assert [s.id for s in server.sessions.of_user(server.user["id"])] == [refreshed.session_id]
    with pytest.raises(VcallError) as gone:
        await expiring.refresh_session(server.token())
    assert gone.value.status == 404


async def test_bad_requests_get_the_sdks_error_shape_and_the_call_carries_on(server, devices):
    device, other = await server.device(), await server.device()
    devices += [device, other]
    ring = await server.ring()
    invite = await device.next_event("member:invited")
    cid, mid, leg = ring.leg.conversation_id, ring.leg.member_id, ring.leg.leg_id
    good = server.token()
    expired = server.token(ttl=1, now=int(time.time()) - 10)
    narrow = server.token(acl={"paths": {"/*/sessions/**": {}}})
    joined = {"originating_session": device.session_id, "state": "joined", "from": mid}
    cases = [
        # (method, path, token, body, status, code)
        ("GET", f"/v0.3/conversations/{cid}", None, None, 401, "system:error:invalid-token"),
        (
            "GET",
            f"/v0.3/conversations/{cid}",
            "forged.jwt.x",
            None,
            401,
            "system:error:invalid-token",
        ),
        ("GET", f"/v0.3/conversations/{cid}", expired, None, 401, "system:error:expired-token"),
        ("GET", f"/v0.3/conversations/{cid}", narrow, None, 403, "system:error:permission"),
        ("GET", "/v0.3/conversations/CON-nope", good, None, 404, "conversation:error:not-found"),
        (
            "PUT",
            f"/v0.3/conversations/{cid}/members/MEM-nope",
            good,
            joined,
            404,
            "conversation:error:member-not-found",
        ),
        (
            "PUT",
            f"/v0.3/conversations/{cid}/members/{mid}",
            good,
            b"{not json",
            400,
            "http:error:validation-fail",
        ),
        (
            "PUT",
            f"/v0.3/conversations/{cid}/members/{mid}",
            good,
            [1, 2],
            400,
            "http:error:validation-fail",
        ),
        (
            "PUT",
            f"/v0.3/conversations/{cid}/members/{mid}",
            good,
            {**joined, "state": "left"},
            400,
            "http:error:validation-fail",
        ),
        (
            "PUT",
            f"/v0.3/conversations/{cid}/members/{mid}",
            good,
            {**joined, "originating_session": "SESSION-x"},
            404,
            "conversation:error:not-found",
        ),
        (
            "POST",
            f"/v0.3/conversations/{cid}/rtc/{leg}/answer",
            good,
            {"originating_session": device.session_id, "body": {"answer": "v=0"}},
            409,
            "conversation:error:invalid-member-state",
        ),
        (
            "POST",
            f"/v0.3/conversations/{cid}/rtc/nope/answer",
            good,
            {},
            404,
            "conversation:error:not-found",
        ),
        (
            "DELETE",
            f"/v0.2/conversations/CON-nope/members/{mid}",
            good,
            None,
            404,
            "conversation:error:not-found",
        ),
        ("PUT", "/v0.2/sessions/SESSION-nope", good, b"", 404, "conversation:error:not-found"),
    ]
    async with aiohttp.ClientSession() as http:
        for method, path, token, body, status, code in cases:
            headers = {} if token is None else {"Authorization": f"bearer {token}"}
            kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
            async with http.request(
                method, server.url + path, headers=headers, params={"key": KEY}, **kwargs
            ) as resp:
                answer = await resp.json()
                assert (resp.status, answer["code"]) == (status, code), (method, path, answer)
                assert answer["type"] == code and answer["detail"]
        # The invited device joins, then sends an SDP that does not parse: refused, and it
        # may still answer properly.
        await device._request("PUT", f"/v0.3/conversations/{cid}/members/{mid}", json=joined)
        bad = {"originating_session": device.session_id, "body": {"answer": "v=0\r\nnonsense"}}
        async with http.post(
            f"{server.url}/v0.3/conversations/{cid}/rtc/{leg}/answer",
            json=bad,
            headers={"Authorization": f"bearer {good}"},
            params={"key": KEY},
        ) as resp:
            assert resp.status == 400
            assert (await resp.json())["invalid_parameters"][0]["name"] == "body.answer"
    assert ring.state == "joining"
    assert await other.next_event("member:joined")
    from vcall.sandbox.voice.media import Peer

    device.peer = Peer()
    sdp = await device.peer.answer(invite["body"]["sdp"])
    await device._request(
        "POST",
        f"/v0.3/conversations/{cid}/rtc/{leg}/answer",
        json={"originating_session": device.session_id, "from": mid, "body": {"answer": sdp}},
    )
    assert await ring.decision(1) == "answered" and await device.peer.connected(5)


async def test_the_socket_ignores_what_clients_emit(server, devices):
    device = await server.device()
    devices.append(device)
    await device._sio.emit("anything", {"x": 1})
    await device._sio.emit("rtc:answer", "not an object")
    ring = await server.ring()
    assert await device.answer(await device.next_event("member:invited"))
    assert ring.state == "answered"
