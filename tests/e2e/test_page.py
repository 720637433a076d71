"""The page in a real headless Chromium: a call rings it, a person answers, every event lands."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from typing import Any

import pytest
from aiohttp import web
from conftest import ARTIFACTS, TOKEN_TTL, Site
from playwright.sync_api import expect

from vcall.sandbox.platform_api import PLATFORM
from vcall.sandbox.platform_request import CallRequest
from vcall.web.app import ServeOptions, create_app
from vcall.web.page import CLIENT_DIR, SDK_BUNDLE

pytestmark = pytest.mark.e2e
IDLE = "Lines are open for calls…"


def open_page(page: Any, site: Site) -> None:
    page.goto(site.page_url)
    expect(page.locator("#who")).to_have_text("Signed in as Alice (sandbox)")
    expect(page.locator("#notification")).to_have_text(IDLE)


def place(site: Site, **request: Any) -> Any:
    """Place a call on the server's platform (its own loop); returns the Call."""

    async def go() -> Any:
        return await site.app[PLATFORM].place(CallRequest(talk_for=0, **request))

    return site.loops.run(go())


def finished(site: Site, call: Any) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        assert await call.wait(10)
        return call.summary()

    return site.loops.run(wait())


def stored(site: Site, conversation: str) -> list[dict[str, Any]]:
    db = sqlite3.connect(site.paths.events_db)
    try:
        rows = db.execute(
            "SELECT raw FROM events WHERE conversation_uuid = ? ORDER BY id", (conversation,)
        ).fetchall()
    finally:
        db.close()
    return [json.loads(raw) for (raw,) in rows]


def shape(event: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, type(v).__name__) for k, v in event.items()]


def test_person_answers_a_vcall_call_in_the_page(page, site, seed_json):
    open_page(page, site)
    args = ["call", "--from", "447700900123", "--talk-for", "0", "--json"]
    call = subprocess.Popen(
        [sys.executable, "-m", "vcall", *args],
        env={**os.environ, "VCALL_HOME": str(site.paths.home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        expect(page.locator("#notification")).to_have_text(
            "You are receiving a call from 447700900123"
        )
        expect(page.locator("#status")).to_have_text("Call Status: ringing")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "ringing-page.png")
        page.click("#answer")
        expect(page.locator("#notification")).to_have_text("You are in a call")
        expect(page.locator("#timer")).to_be_visible()
        # The JWT lives TOKEN_TTL s: the page renews it in time and the session goes on.
        with page.expect_response("**/api/token", timeout=TOKEN_TTL * 1000) as renewed:
            pass
        assert renewed.value.ok
        page.click("#hangup")
        expect(page.locator("#notification")).to_have_text(IDLE)
        expect(page.locator("#status")).to_have_text("Call Status: completed")
        out, err = call.communicate(timeout=20)
    finally:
        if call.poll() is None:
            call.kill()
            call.communicate()
    assert call.returncode == 0, err
    summary = json.loads(out)
    assert summary["outcome"] == "answered" and summary["pages"] >= 1
    assert [leg["status"] for leg in summary["legs"]] == ["completed", "completed"]
    expect(page.locator("#error")).to_be_hidden()

    events = stored(site, summary["conversation_uuid"])
    seed = seed_json["events"]
    assert [e["status"] for e in events] == [e["status"] for e in seed]
    for got, want in zip(events, seed, strict=True):
        assert shape(got) == shape(want), want["status"]
    assert events[0]["from"] == "447700900123" and events[-1]["from"] == " 447700900123"


def test_reject_in_the_page(page, site):
    open_page(page, site)
    call = place(site)
    expect(page.locator("#answer")).to_be_visible()
    page.click("#reject")
    expect(page.locator("#status")).to_have_text("Call Status: rejected")
    expect(page.locator("#notification")).to_have_text(IDLE)
    summary = finished(site, call)
    assert summary["outcome"] == "rejected"
    statuses = [(e["status"], e["direction"]) for e in stored(site, summary["conversation_uuid"])]
    assert statuses[-2:] == [("rejected", "outbound"), ("completed", "inbound")]


@pytest.mark.parametrize(
    ("request_", "reason", "outcome"),
    [
        ({"ring_timeout": 1.0}, "RemoteTimeout", "timeout"),
        ({"cancel_after": 1.0}, "RemoteCancel", "cancelled"),
    ],
)
def test_invite_withdrawn_while_ringing(page, site, request_, reason, outcome):
    open_page(page, site)
    call = place(site, **request_)
    expect(page.locator("#answer")).to_be_visible()
    expect(page.locator("#status")).to_have_text(f"Call Status: cancelled ({reason})")
    expect(page.locator("#answer")).to_be_hidden()
    expect(page.locator("#notification")).to_have_text(IDLE)
    summary = finished(site, call)
    assert summary["outcome"] == outcome
    statuses = [e["status"] for e in stored(site, summary["conversation_uuid"])]
    assert statuses[-2:] == [outcome, "completed"] and "answered" not in statuses[3:]


def test_page_without_the_key_is_refused(page, site):
    refused = page.goto(f"{site.url}/")
    assert refused is not None and refused.status == 401
    assert "needs the key" in page.content()
    assert page.request.get(f"{site.url}/api/token").status == 401
    # With the key once, the cookie opens it from then on.
    assert page.goto(site.page_url).status == 200
    assert page.goto(f"{site.url}/").status == 200


def test_live_transport_opens_the_sdk_socket(page, site, loops):
    if not (CLIENT_DIR / SDK_BUNDLE).is_file():
        pytest.skip("the Vonage Client SDK is not installed: npm ci in client/")
    upgrades: list[dict[str, Any]] = []

    async def make_listener() -> tuple[web.Application, asyncio.Event]:
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
        return listener, arrived

    listener, arrived = loops.run(make_listener())
    rtc_url = loops.serve(listener)
    live = ServeOptions(
        store_path=site.paths.home / "live-events.db",
        quiet=True,
        sandbox=False,
        paths=site.paths,
        client_config={"websocketUrl": rtc_url},
    )
    live_url = loops.serve(create_app(live))
    page.goto(f"{live_url}/?key={live.page_key}")
    loops.run(asyncio.wait_for(arrived.wait(), 15))
    assert page.evaluate("typeof window.vonageClientSDK.VonageClient") == "function"

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
