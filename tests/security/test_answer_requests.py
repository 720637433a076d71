"""Answer requests are kept as received (method, query or body, the signature check's outcome)
with the answer and how long it took, and the answer never waits for the store to write them."""

from __future__ import annotations

import json

import apsw
from polling import kept_answers
from recorded_call import EVER, RecordedCall

from vcall.answer_requests import NOT_CHECKED, VERIFIED
from vcall.web.app import ServeOptions, create_app

CONVERSATION = "CON-8f5a100c-fbce-4218-8d4b-16341335bcd6"


async def test_a_signed_get_is_kept_with_its_ncco(client, reader, seed: RecordedCall, sign_query):
    query = list(seed.answer_query.items())
    resp = await client.get("/voice/answer", params=query, headers=sign_query(query))
    ncco = await resp.read()
    (answer,) = await kept_answers(reader, CONVERSATION, 1)
    assert (answer.method, answer.path, answer.body) == ("GET", "/voice/answer", None)
    assert answer.query == resp.url.raw_query_string  # as sent, percent-encoding and all
    assert (answer.conversation_uuid, answer.uuid) == (CONVERSATION, seed.answer_query["uuid"])
    assert (answer.signature, answer.status, answer.response) == (VERIFIED, 200, ncco)
    assert 0 < answer.took_ms < 5000
    assert answer.received_at.endswith("Z")


async def test_a_post_to_the_fallback_keeps_its_body_byte_for_byte(client, reader, sign_body):
    body = (
        b'{"from": "441234567890", "uuid": "u1", "conversation_uuid": "CON-f",\n'
        b'"reason": "answer_url timed out", "original_request": {"type": "answer_url"}}'
    )
    resp = await client.post("/voice/fallback", data=body, headers=sign_body(body))
    assert resp.status == 200
    (answer,) = await kept_answers(reader, "CON-f", 1)
    assert (answer.method, answer.path, answer.query) == ("POST", "/voice/fallback", "")
    assert (answer.body, answer.uuid, answer.signature) == (body, "u1", VERIFIED)
    assert json.loads(answer.response)[0]["action"] == "talk"


async def test_a_refused_signature_is_kept_with_the_reason(client, reader, sign_query):
    query = [("from", "441234567890"), ("conversation_uuid", "CON-r")]
    forged = sign_query([("from", "441234567899"), ("conversation_uuid", "CON-r")])
    resp = await client.get("/voice/answer", params=query, headers=forged)
    assert resp.status == 401
    (answer,) = await kept_answers(reader, "CON-r", 1)
    assert answer.status == 401 and "payload_hash" in answer.signature
    assert json.loads(answer.response) == await resp.json()
    assert len(await reader.rejected()) == 1  # filed as every refused webhook is


async def test_bad_answer_requests_are_kept_too(client, reader, sign_body):
    body = b'{"conversation_uuid": "CON-b", "from": 441234567890}'
    resp = await client.post("/voice/answer", data=body, headers=sign_body(body))
    assert resp.status == 400
    (answer,) = await kept_answers(reader, "CON-b", 1)
    assert (answer.status, answer.body, answer.signature) == (400, body, VERIFIED)
    assert b"must be a string" in answer.response


async def test_without_a_secret_the_check_is_not_made(aiohttp_client, tmp_path, reader):
    client = await aiohttp_client(create_app(ServeOptions(store=tmp_path / "events.db")))
    resp = await client.get("/voice/answer", params={"conversation_uuid": "CON-u"})
    assert resp.status == 200
    (answer,) = await kept_answers(reader, "CON-u", 1)
    assert answer.signature == NOT_CHECKED


async def test_the_answer_does_not_wait_for_the_store(client, reader, options, sign_query):
    """While another connection holds the database's write lock, an answer request is
    answered all the same; it is written once the lock is free."""
    query = [("from", "441234567890"), ("conversation_uuid", "CON-w")]
    blocker = apsw.Connection(str(options.store))
    blocker.execute("BEGIN IMMEDIATE")
    try:
        resp = await client.get("/voice/answer", params=query, headers=sign_query(query))
        assert resp.status == 200
        assert [a["action"] for a in await resp.json()] == ["talk", "connect"]
        assert await reader.answers("CON-w", **EVER) == []  # not written: the lock is still held
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    (answer,) = await kept_answers(reader, "CON-w", 1)
    assert answer.status == 200
