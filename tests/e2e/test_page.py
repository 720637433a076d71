"""The page in a real headless Chromium: a call rings it, a person answers, every event lands."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import apsw
import pytest
from aiohttp import web
from playwright.async_api import expect

from vcall import client_sdk
from vcall.sandbox.voice.request import CallRequest
from vcall.sandbox.voice.routes import PLATFORM
from vcall.serving import running
from vcall.web.app import ServeOptions, create_app

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
IDLE = "Lines are open for calls…"


async def open_page(page: Any, site: Any) -> None:
    await page.goto(site.page_url)
    await expect(page.locator("#who")).to_have_text("Signed in as Alice (sandbox)")
    await expect(page.locator("#notification")).to_have_text(IDLE)
    assert "key=" not in page.url  # the key moved to the cookie; the address bar drops it


async def place(site: Any, **request: Any) -> Any:
    """A call placed straight on the server's platform (`vcall call` is the first test's)."""
    return await site.app[PLATFORM].place(CallRequest(talk_for=0, **request))


async def finished(call: Any) -> dict[str, Any]:
    assert await call.wait(10)
    return call.summary()


def stored(site: Any, conversation: str) -> list[dict[str, Any]]:
    # apsw, as the store uses: two SQLite libraries on one file in one process can break each
    # other's locks (closing a file drops every POSIX lock the process holds on it).
    db = apsw.Connection(str(site.paths.events_db))
    try:
        rows = db.execute(
            "SELECT raw FROM events WHERE conversation_uuid = ? ORDER BY id", (conversation,)
        ).fetchall()
    finally:
        db.close()
    return [json.loads(raw) for (raw,) in rows]


def shape(event: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, type(v).__name__) for k, v in event.items()]


async def test_person_answers_a_vcall_call_in_the_page(page, site, seed_json):
    await open_page(page, site)
    args = ["call", "--from", "447700900123", "--talk-for", "0", "--json"]
    call = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vcall",
        *args,
        env={**os.environ, "VCALL_HOME": str(site.paths.home)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await expect(page.locator("#notification")).to_have_text(
            "You are receiving a call from 447700900123"
        )
        await expect(page.locator("#status")).to_have_text("Call Status: ringing")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=ARTIFACTS / "ringing-page.png")
        await page.click("#answer")
        await expect(page.locator("#notification")).to_have_text("You are in a call")
        await expect(page.locator("#timer")).to_be_visible()
        # The JWT is short-lived here: the page renews it in time and the call goes on.
        async with page.expect_response("**/api/token", timeout=site.token_ttl * 1000) as renewed:
            pass
        assert (await renewed.value).ok
        await page.click("#hangup")
        await expect(page.locator("#notification")).to_have_text(IDLE)
        await expect(page.locator("#status")).to_have_text("Call Status: completed")
        out, err = await asyncio.wait_for(call.communicate(), 20)
    finally:
        if call.returncode is None:
            call.kill()
            await call.communicate()
    assert call.returncode == 0, err.decode()
    summary = json.loads(out)
    assert summary["outcome"] == "answered" and summary["pages"] >= 1
    assert [leg["status"] for leg in summary["legs"]] == ["completed", "completed"]
    await expect(page.locator("#error")).to_be_hidden()

    events = stored(site, summary["conversation_uuid"])
    seed = seed_json["events"]
    assert [e["status"] for e in events] == [e["status"] for e in seed]
    for got, want in zip(events, seed, strict=True):
        assert shape(got) == shape(want), want["status"]
    assert events[0]["from"] == "447700900123" and events[-1]["from"] == " 447700900123"


async def test_reject_in_the_page(page, site):
    await open_page(page, site)
    call = await place(site)
    await expect(page.locator("#answer")).to_be_visible()
    await page.click("#reject")
    await expect(page.locator("#status")).to_have_text("Call Status: rejected")
    await expect(page.locator("#notification")).to_have_text(IDLE)
    summary = await finished(call)
    assert summary["outcome"] == "rejected"
    statuses = [(e["status"], e["direction"]) for e in stored(site, summary["conversation_uuid"])]
    assert statuses[-2:] == [("rejected", "outbound"), ("completed", "inbound")]


@pytest.mark.parametrize(
    ("timing", "reason", "outcome"),
    [
        ({"ring_timeout": 1.0}, "RemoteTimeout", "timeout"),
        ({"cancel_after": 1.0}, "RemoteCancel", "cancelled"),
    ],
)
async def test_invite_withdrawn_while_ringing(page, site, timing, reason, outcome):
    await open_page(page, site)
    call = await place(site, **timing)
    await expect(page.locator("#answer")).to_be_visible()
    await expect(page.locator("#status")).to_have_text(f"Call Status: cancelled ({reason})")
    await expect(page.locator("#answer")).to_be_hidden()
    await expect(page.locator("#notification")).to_have_text(IDLE)
    summary = await finished(call)
    assert summary["outcome"] == outcome
    statuses = [e["status"] for e in stored(site, summary["conversation_uuid"])]
    assert statuses[-2:] == [outcome, "completed"] and "answered" not in statuses[3:]


async def test_page_without_the_key_is_refused(page, site):
    refused = await page.goto(f"{site.url}/")
    assert refused is not None and refused.status == 401
    assert "needs the key" in await page.content()
    assert (await page.request.get(f"{site.url}/api/token")).status == 401
    # With the key once, the cookie opens it from then on.
    assert (await page.goto(site.page_url)).status == 200
    assert (await page.goto(f"{site.url}/")).status == 200


async def test_live_transport_opens_the_sdk_socket(page, site):
    assert client_sdk.bundle() is not None, "scripts/test.sh installs the Client SDK"
    upgrades: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def rtc(request: web.Request) -> web.Response:
        # The JWT rides in the query string: keep it, never print the URL.
        upgrades.append(
            {
                "path": request.path,
                "upgrade": request.headers.get("Upgrade", "").lower(),
                "query": dict(request.query),
            }
        )
        arrived.set()
        return web.Response(status=403)

    listener = web.Application()
    listener.router.add_get("/v2/rtc/", rtc)
    async with running(listener, "127.0.0.1", 0) as rtc_url:
        live = ServeOptions(
            store=site.paths.home / "live-events.db",
            quiet=True,
            sandbox=False,
            paths=site.paths,
            client_config={"websocketUrl": rtc_url},
        )
        async with running(create_app(live), "127.0.0.1", 0) as live_url:
            await page.goto(f"{live_url}/?key={live.page_key}")
            await asyncio.wait_for(arrived.wait(), 15)
            sdk = await page.evaluate("typeof window.vonageClientSDK.VonageClient")
            await page.close()  # before the servers stop: the SDK keeps retrying
    assert sdk == "function"

    first = upgrades[0]
    assert (first["path"], first["upgrade"]) == ("/v2/rtc/", "websocket")
    query = first["query"]
    assert (query.get("EIO"), query.get("transport")) == ("4", "websocket")
    import jwt

    from vcall import tokens

    state = json.loads(site.paths.state.read_text())
    public = tokens.public_key_pem(tokens.load_private_key(state["private_key"]))
    claims = jwt.decode(query["token"], public, algorithms=["RS256"])
    assert claims["sub"] == "Alice" and claims["application_id"] == state["application_id"]
