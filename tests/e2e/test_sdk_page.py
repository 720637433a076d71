"""The real Vonage Client SDK in Chromium against the sandbox: every flow the page has.

The page loads the bundle vcall serve installed (never ``sandbox.js``, never a script from
elsewhere: the ``page`` fixture fails the test otherwise), signs in over ``/v2/rtc/`` and takes
calls through the Conversation API; the platform's side of the media is aiortc, so Answer
needs a real peer connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from playwright.async_api import expect
from test_page import IDLE, finished, open_page, place, shape, stored

from vcall import keygen, tokens
from vcall.sandbox.voice.routes import SESSIONS

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

#: Records every RTCPeerConnection the page makes, with its states, for the tests to read.
WATCH_PEERS = """
window.__peers = [];
const Native = window.RTCPeerConnection;
window.RTCPeerConnection = function (...args) {
  const pc = new Native(...args);
  const seen = { states: [] };
  window.__peers.push(seen);
  pc.addEventListener("connectionstatechange", () => seen.states.push(pc.connectionState));
  return pc;
};
window.RTCPeerConnection.prototype = Native.prototype;
"""


#: Records, in order, each session the page's createSession got, how each refreshSession ended
#: and each event its SDK listeners were called with (``[name, ...args]``), by wrapping
#: VonageClient once the bundle has loaded.
WATCH_SDK = """
window.__sdk = [];
let sdk;
Object.defineProperty(window, "vonageClientSDK", {
  configurable: true,
  set(value) { sdk = value; },
  get() {
    const Client = sdk && sdk.VonageClient;
    if (Client && !Client.prototype.__watched) {
      Client.prototype.__watched = true;
      const { on, createSession, refreshSession } = Client.prototype;
      Client.prototype.on = function (event, listener) {
        return on.call(this, event, (...args) => {
          window.__sdk.push([event, ...args.map(String)]);
          return listener(...args);
        });
      };
      Client.prototype.createSession = async function (...args) {
        const id = await createSession.apply(this, args);
        window.__sdk.push(["session", id]);
        return id;
      };
      Client.prototype.refreshSession = async function (...args) {
        try {
          const done = await refreshSession.apply(this, args);
          window.__sdk.push(["refreshSession", "ok"]);
          return done;
        } catch (err) {
          window.__sdk.push(["refreshSession", err.code || String(err)]);
          throw err;
        }
      };
    }
    return sdk;
  },
});
"""


async def sdk_log(page: Any) -> list[list[str]]:
    return list(await page.evaluate("window.__sdk"))


async def peer_states(page: Any) -> list[list[str]]:
    return [p["states"] for p in await page.evaluate("window.__peers")]


async def second_page(browser: Any, site: Any, *, idle: bool = True) -> Any:
    context = await browser.new_context()
    tab = await context.new_page()
    tab.set_default_timeout(10_000)
    if idle:
        await open_page(tab, site)
    else:
        await tab.goto(site.page_url)
    return tab


async def test_answer_connects_the_media_and_runs_the_timer(page, site, seed_json):
    await page.add_init_script(WATCH_PEERS)
    await open_page(page, site)
    call = await place(site, from_="447700900123")
    await expect(page.locator("#notification")).to_have_text(
        "You are receiving a call from 447700900123"
    )
    await page.click("#answer")
    await expect(page.locator("#notification")).to_have_text("You are in a call")
    assert "connected" in (await peer_states(page))[-1]
    await expect(page.locator("#timer")).to_have_text("00:01", timeout=3_000)  # running
    await page.click("#hangup")
    await expect(page.locator("#status")).to_have_text("Call Status: completed")
    summary = await finished(call)
    assert summary["outcome"] == "answered"
    events = stored(site, summary["conversation_uuid"])
    seed = seed_json["events"]
    assert [(e["status"], e["direction"]) for e in events] == [
        (e["status"], e["direction"]) for e in seed
    ]
    for got, want in zip(events, seed, strict=True):
        assert shape(got) == shape(want), want["status"]


async def test_far_end_hangs_up(page, site):
    await open_page(page, site)
    call = await place(site, hold=0.5)  # the caller hangs up half a second after the answer
    await page.click("#answer")
    await expect(page.locator("#status")).to_have_text("Call Status: completed (REMOTE_HANGUP)")
    await expect(page.locator("#notification")).to_have_text(IDLE)
    summary = await finished(call)
    assert [leg["status"] for leg in summary["legs"]] == ["completed", "completed"]


@pytest.mark.parametrize(
    ("button", "reason", "outcome"),
    [("#answer", "AnsweredElsewhere", "answered"), ("#reject", "RejectedElsewhere", "rejected")],
)
async def test_two_pages_ring_and_one_decides(page, browser, site, button, reason, outcome):
    await open_page(page, site)
    other = await second_page(browser, site)
    try:
        call = await place(site, hold=0.3)
        for tab in (page, other):
            await expect(tab.locator("#answer")).to_be_visible()
        await page.click(button)
        await expect(other.locator("#status")).to_have_text(f"Call Status: cancelled ({reason})")
        await expect(other.locator("#answer")).to_be_hidden()
        if outcome == "rejected":
            await expect(page.locator("#status")).to_have_text("Call Status: rejected")
        summary = await finished(call)
        assert summary["outcome"] == outcome and summary["pages"] == 2
    finally:
        await other.context.close()


async def test_a_page_opened_while_it_rings_rings_too(page, browser, site):
    await open_page(page, site)
    call = await place(site, ring_timeout=10)
    await expect(page.locator("#answer")).to_be_visible()
    late = await second_page(browser, site, idle=False)
    try:
        await expect(late.locator("#notification")).to_have_text(
            "You are receiving a call from 441234567890"
        )
        await late.click("#answer")
        await expect(late.locator("#notification")).to_have_text("You are in a call")
        await expect(page.locator("#status")).to_have_text(
            "Call Status: cancelled (AnsweredElsewhere)"
        )
        await late.click("#hangup")
        assert (await finished(call))["outcome"] == "answered"
    finally:
        await late.context.close()


async def test_a_session_the_server_ended_signs_in_again_and_rings(page, site):
    """A renewal held until after the token ran out: the server ends the session, the SDK calls
    the page's sessionError listener with EXPIRED_TOKEN, the page signs in afresh with a new
    token and rings again; the renewal, let through once it has, finds its session gone (404)
    and the page does not show that stale failure."""
    sessions = site.app[SESSIONS]
    ended: list[str] = []
    answers: list[int] = []

    async def signed_in_again() -> bool:
        return [e[0] for e in await sdk_log(page)].count("session") == 2

    async def after_the_expiry(route: Any) -> None:
        if ended:
            await route.continue_()
            return
        # The first renewal is held until the page has signed in again.
        ended.append(route.request.url.rsplit("/", 1)[-1].split("?")[0])
        deadline = time.monotonic() + site.token_ttl * 3
        while ended[0] in sessions or not await signed_in_again():
            assert time.monotonic() < deadline, "the page did not sign in again"
            await asyncio.sleep(0.05)  # polling under a deadline
        response = await route.fetch()
        answers.append(response.status)
        await route.fulfill(response=response)

    await page.add_init_script(WATCH_SDK)
    await page.route("**/v0.2/sessions/**", after_the_expiry)
    await open_page(page, site)
    deadline = time.monotonic() + site.token_ttl * 4
    while not any(e[0] == "refreshSession" for e in await sdk_log(page)):
        assert time.monotonic() < deadline, "the held renewal never ended"
        await asyncio.sleep(0.05)  # polling under a deadline
    assert answers == [404]  # the session was gone: the page had signed in afresh
    await expect(page.locator("#error")).to_be_hidden()  # the late 404 is no news
    call = await place(site, ring_timeout=5)
    await expect(page.locator("#answer")).to_be_visible()
    log = [e for e in await sdk_log(page) if e != ["refreshSession", "ok"]]  # the new session's
    assert [e[0] for e in log] == [
        "session",
        "sessionError",
        "session",
        "refreshSession",
        "callInvite",
    ]
    (_, first), expired, (_, second), renewal = log[:4]
    assert expired == ["sessionError", "EXPIRED_TOKEN"]
    assert renewal == ["refreshSession", "conversation:error:not-found"]
    assert first == ended[0] and first not in sessions and second in sessions
    await page.click("#reject")
    assert (await finished(call))["outcome"] == "rejected"


async def test_a_renewed_session_outlives_its_first_token(page, site):
    """refreshSession before the token runs out: the same session lives on, no sessionError."""
    sessions = site.app[SESSIONS]
    await page.add_init_script(WATCH_SDK)
    await open_page(page, site)
    [(_, session)] = await sdk_log(page)
    first_exp = sessions.session(session).identity.expires
    deadline = first_exp + site.token_ttl
    while time.time() < first_exp + 0.5:  # past the first token's end (polling, with a deadline)
        assert time.time() < deadline and session in sessions, "the session ended"
        await asyncio.sleep(0.05)  # polling, with a deadline
    call = await place(site, ring_timeout=5)
    await expect(page.locator("#answer")).to_be_visible()
    log = await sdk_log(page)
    renewals = [e for e in log if e[0] == "refreshSession"]
    assert renewals and all(e == ["refreshSession", "ok"] for e in renewals)
    assert [e[0] for e in log if e[0] != "refreshSession"] == ["session", "callInvite"]
    assert session in sessions
    await page.click("#reject")
    assert (await finished(call))["outcome"] == "rejected"
    await expect(page.locator("#error")).to_be_hidden()


def site_app_id(site: Any) -> str:
    """The application `vcall setup` made for the site."""
    return str(json.loads(site.paths.state.read_text())["application_id"])


async def test_a_refused_token_is_a_clear_error(page, site):
    async def foreign_token(route: Any) -> None:
        body = await (await route.fetch()).json()
        claims, _ = tokens.decode(body["token"])
        other_key, _ = keygen.new_key_pair()  # the right application, signed with a wrong key
        body["token"] = tokens.mint(claims["application_id"], other_key, "Alice")
        await route.fulfill(json=body)

    await page.route("**/api/token", foreign_token)
    started = time.monotonic()
    await page.goto(site.page_url)
    await expect(page.locator("#who")).to_have_text("Not signed in")
    await expect(page.locator("#error")).to_contain_text("Error: session:error:invalid-token")
    assert time.monotonic() - started < 5  # refused at once, not the SDK's 5 s time-out


async def test_no_invite_reaches_a_page_that_is_gone(page, site):
    await open_page(page, site)
    await page.context.close()
    call = await place(site, ring_timeout=0.5)
    summary = await asyncio.wait_for(finished(call), 10)
    assert summary["outcome"] == "timeout"
