"""``vcall replay``: stored events (and the answer request) re-sent to another vcall serve."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from pathlib import Path

import pytest
from recorded_call import EVER, RecordedCall, send_call
from rich.console import Console

from vcall._errors import NotFound
from vcall.answer_requests import StoredAnswer
from vcall.delivery import Webhook
from vcall.replay import deliver, stored_webhooks
from vcall.signing import sign_with
from vcall.store import open_store
from vcall.web.app import ServeOptions, create_app
from vcall.web.log import WebhookLog

SECRET = "replay-signature-secret-0123456789abcdef"
CONVERSATION = "CON-8f5a100c-fbce-4218-8d4b-16341335bcd6"


async def stored_raw(path: Path | str) -> list[bytes]:
    store = open_store(path)
    await store.open()
    try:
        return [e.raw for e in await store.events(limit=1000)]
    finally:
        await store.close()


@pytest.fixture
async def source(aiohttp_server, tmp_path: Path, seed: RecordedCall) -> Path:
    """A store that received the seed call through the real webhooks."""
    options = ServeOptions(store=tmp_path / "source.db", quiet=True)
    server = await aiohttp_server(create_app(options))
    results = await send_call(str(server.make_url("")), seed)
    assert {r.status for r in results} == {200}
    await server.close()
    return options.store


async def stored_answers(path: Path | str) -> list[StoredAnswer]:
    store = open_store(path)
    await store.open()
    try:
        return await store.answers(CONVERSATION, **EVER)
    finally:
        await store.close()


async def run_replay(*args: str, **env: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vcall", "replay", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
    )  # fmt: skip
    async with asyncio.timeout(20):
        out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


@pytest.mark.e2e
async def test_replay_into_a_second_serve_stores_identical_raw_json(
    aiohttp_server, tmp_path: Path, source: Path
):
    console = Console(record=True, file=io.StringIO(), width=200)
    target = ServeOptions(store=tmp_path / "target.db", signature_secret=SECRET)
    server = await aiohttp_server(create_app(target, log=WebhookLog(console)))
    url = str(server.make_url("")).rstrip("/")

    code, out, err = await run_replay(
        "--store", str(source), "--to", url, VONAGE_SIGNATURE_SECRET=SECRET
    )

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"200  GET  /voice/answer  answer {CONVERSATION}"
    assert lines[1] == "200  POST /voice/event  #1 ringing inbound"
    assert len(lines) == 9 and lines[-1] == f"8/8 accepted by {url} (signed)"
    # the answer request was the stored original, and verified like the rest
    assert "NCCO request: caller 441234567890" in console.export_text()
    assert await stored_raw(target.store) == await stored_raw(source)


@pytest.mark.e2e
async def test_unsigned_replay_to_a_verifying_server_reports_each_refusal(
    aiohttp_server, tmp_path: Path, source: Path
):
    target = ServeOptions(store=tmp_path / "t.db", quiet=True, signature_secret=SECRET)
    server = await aiohttp_server(create_app(target))
    url = str(server.make_url("")).rstrip("/")
    # Live, with no signature secret: nothing to sign with (the sandbox always has one).
    code, out, _ = await run_replay(
        "--store", str(source), "--to", url, "--id", "7", VONAGE_API_KEY="abc123"
    )
    assert code == 1
    first, summary = out.splitlines()
    assert first.startswith("401  POST /voice/event  #7 completed inbound: missing signature")
    assert summary == f"0/1 accepted by {url} (unsigned)"
    assert await stored_raw(target.store) == []


async def test_selection_in_store_order(source: Path, seed: RecordedCall):
    store = open_store(source)
    await store.open()
    try:
        picked = await stored_webhooks(store, ids=[7, 3])
        assert [h.label for h in picked] == ["#3 answered inbound", "#7 completed inbound"]
        newest_call = await stored_webhooks(store)
        assert newest_call == await stored_webhooks(store, conversations=[CONVERSATION])
        answer, *events = newest_call
        assert (answer.method, answer.path, answer.query) == (
            "GET",
            "/voice/answer",
            seed.answer_query,
        )
        assert [e.body for e in events] == seed.event_bodies()
        with pytest.raises(NotFound, match="no stored event with id 99"):
            await stored_webhooks(store, ids=[1, 99])
        with pytest.raises(NotFound, match="no stored events for CON-nope"):
            await stored_webhooks(store, conversations=["CON-nope"])
    finally:
        await store.close()


@pytest.mark.e2e
async def test_replay_resends_the_answer_requests_as_received(
    aiohttp_server, tmp_path: Path, seed: RecordedCall
):
    """Each stored answer request goes out again as it came (a GET's query string, a POST's
    body byte for byte, the fallback too); one whose signature was refused does not."""
    signer = sign_with(SECRET, api_key="k", application_id="a")
    source = ServeOptions(store=tmp_path / "source.db", quiet=True, signature_secret=SECRET)
    first = await aiohttp_server(create_app(source))
    query = {**seed.answer_query, "region_url": "https://api-eu-3.vonage.com", "custom_data": "a b"}
    fallback = json.dumps({**seed.answer_query, "reason": "timeout"}, indent=1).encode()
    hooks = [
        Webhook("GET", "/voice/answer", query=query),
        Webhook("POST", "/voice/fallback", body=fallback),
        *RecordedCall(seed.answer_method, seed.answer_query, seed.events).webhooks()[1:],
    ]
    base = str(first.make_url(""))
    assert {d.status async for d in deliver(base, hooks, signer=signer)} == {200}
    unsigned = Webhook("GET", "/voice/answer", query={**query, "from": "447700900999"})
    assert [d.status async for d in deliver(base, [unsigned])] == [401]
    await first.close()
    target = ServeOptions(store=tmp_path / "target.db", quiet=True, signature_secret=SECRET)
    server = await aiohttp_server(create_app(target))
    url = str(server.make_url("")).rstrip("/")

    code, out, err = await run_replay(
        "--store", str(source.store), "--to", url, VONAGE_SIGNATURE_SECRET=SECRET
    )

    assert code == 0, err
    lines = out.splitlines()
    assert lines[:2] == [
        f"200  GET  /voice/answer  answer {CONVERSATION}",
        f"200  POST /voice/fallback  fallback {CONVERSATION}",
    ]
    assert lines[-1] == f"9/9 accepted by {url} (signed)"
    await server.close()
    sent, resent = await stored_answers(source.store), await stored_answers(target.store)
    assert [a.signature.split(":")[0] for a in sent] == [
        "verified",
        "verified",
        "missing signature",
    ]
    assert [(a.method, a.path, a.query, a.body) for a in resent] == [
        (a.method, a.path, a.query, a.body) for a in sent[:2]
    ]


async def test_nothing_to_replay_is_one_clear_line(tmp_path: Path):
    code, out, err = await run_replay("--store", str(tmp_path / "none.db"), "--to", "http://x")
    assert code == 2 and out == ""
    assert err.strip() == f"Error: no event store at {tmp_path / 'none.db'}: nothing to replay"


@pytest.mark.e2e
async def test_replay_reads_a_postgresql_store_named_by_vcall_store(
    aiohttp_server, tmp_path: Path, seed: RecordedCall, pg_url: str
):
    """The store to read may be PostgreSQL, named by VCALL_STORE (no password on the line)."""
    first = await aiohttp_server(create_app(ServeOptions(store=pg_url, quiet=True)))
    assert {r.status for r in await send_call(str(first.make_url("")), seed)} == {200}
    await first.close()
    target = ServeOptions(store=tmp_path / "target.db", quiet=True)
    server = await aiohttp_server(create_app(target))
    url = str(server.make_url("")).rstrip("/")

    code, out, err = await run_replay("--to", url, VCALL_STORE=pg_url)

    assert code == 0, err
    assert out.splitlines()[-1].startswith(f"8/8 accepted by {url} (")
    assert await stored_raw(target.store) == await stored_raw(pg_url)
