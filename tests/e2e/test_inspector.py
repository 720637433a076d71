"""The calls inspector in a real headless Chromium beside the phone: calls of every outcome
listed, a call's webhooks in order with the store's values, its timeline, live updates, replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import apsw
import pytest
from playwright.async_api import expect

from vcall.sandbox.voice.request import CallRequest, Outcome
from vcall.sandbox.voice.routes import PLATFORM
from vcall.serving import running
from vcall.web.app import ServeOptions, create_app

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
#: How each stand-in outcome shows in the list.
OUTCOMES = ["answered", "rejected", "busy", "timeout", "cancelled", "failed"]


async def open_inspector(page: Any, site: Any) -> None:
    await page.set_viewport_size({"width": 1440, "height": 1000})
    await page.goto(site.page_url)
    await expect(page.locator("#who")).to_have_text("Signed in as Alice (sandbox)")
    await expect(page.locator("#inspector table.calls")).to_have_attribute("data-state", "ready")


async def place(site: Any, outcome: str | None = None, **timing: float) -> Any:
    """A call from the sandbox platform with a stand-in playing ``outcome``."""
    request = CallRequest(
        talk_for=0,
        outcome=Outcome(outcome) if outcome else None,
        answer_after=timing.pop("answer_after", 0.2),
        hold=timing.pop("hold", 0.3),
        **timing,
    )
    return await site.app[PLATFORM].place(request, origin=site.url)


async def finished(call: Any) -> str:
    assert await call.wait(10)
    return call.id


def store_rows(site: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    # apsw, as the store uses: two SQLite libraries on one file in one process can break each
    # other's locks.
    db = apsw.Connection(str(site.paths.events_db))
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def stored_events(site: Any, conversation: str) -> list[dict[str, Any]]:
    rows = store_rows(
        site, "SELECT id, raw FROM events WHERE conversation_uuid = ? ORDER BY id", conversation
    )
    return [{"id": i, **json.loads(raw)} for i, raw in rows]


def stored_answers(site: Any, conversation: str) -> list[tuple[Any, ...]]:
    return store_rows(
        site,
        "SELECT id, method, path, status, response FROM answers WHERE conversation_uuid = ? "
        "ORDER BY id",
        conversation,
    )


async def open_call(page: Any, conversation: str) -> Any:
    await page.locator(f'tr[data-conversation="{conversation}"]').click()
    detail = page.locator("#inspector article.call")
    await expect(detail.locator("code.conversation")).to_have_text(conversation)
    return detail


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


async def test_calls_of_every_outcome_are_listed_with_it(page, site, artifacts):
    calls = {}
    for outcome in OUTCOMES:
        extra = {"cancel_after": 0.1, "answer_after": 5} if outcome == "cancelled" else {}
        if outcome == "timeout":
            extra = {"ring_timeout": 0.1, "answer_after": 5}
        calls[outcome] = await finished(await place(site, outcome, **extra))
    await open_inspector(page, site)
    for outcome, conversation in calls.items():
        row = page.locator(f'tr[data-conversation="{conversation}"]')
        await expect(row.locator(".outcome")).to_have_text(outcome)
    # Newest first.
    shown = await page.locator("table.calls tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.conversation)"
    )
    assert [shown.index(c) for c in reversed(calls.values())] == sorted(
        shown.index(c) for c in calls.values()
    )
    await page.screenshot(path=artifacts / "inspector-calls.png")


async def test_a_call_opens_to_its_webhooks_in_order(page, site, artifacts):
    conversation = await finished(await place(site, "answered"))
    await open_inspector(page, site)
    detail = await open_call(page, conversation)
    answers, events = stored_answers(site, conversation), stored_events(site, conversation)
    hooks = detail.locator("ol.hooks > li")
    await expect(hooks).to_have_count(len(answers) + len(events))
    kinds = await hooks.evaluate_all("items => items.map(i => i.dataset.webhook)")
    assert kinds == [f"answer-{a[0]}" for a in answers] + [f"event-{e['id']}" for e in events]

    answer = detail.locator("li.hook.answer").first
    await expect(answer.locator(".method")).to_have_text(f"{answers[0][1]} {answers[0][2]}")
    await expect(answer.locator(".code")).to_have_text(str(answers[0][3]))
    await answer.locator("summary").click()
    ncco = json.loads(await answer.locator("pre.ncco").text_content())
    assert ncco == json.loads(answers[0][4])

    for event in events:
        item = detail.locator(f'li[data-webhook="event-{event["id"]}"]')
        await expect(item.locator(".status")).to_have_text(event["status"])
        assert await item.locator("time").get_attribute("datetime") == event["timestamp"]
        await item.locator("summary").click()
        shown = json.loads(await item.locator("pre.raw").text_content())
        assert {"id": event["id"], **shown} == event

    await answer.locator("summary").scroll_into_view_if_needed()
    await page.screenshot(path=artifacts / "inspector-call.png", full_page=True)


@pytest.mark.parametrize("outcome", OUTCOMES)
async def test_the_timeline_has_a_lane_per_leg_and_a_mark_per_webhook(
    page, site, artifacts, outcome
):
    timing = {"answered": {"hold": 1.0, "answer_after": 0.6}}.get(outcome, {})
    if outcome == "cancelled":
        timing = {"cancel_after": 0.5, "answer_after": 5}
    if outcome == "timeout":
        timing = {"ring_timeout": 0.5, "answer_after": 5}
    conversation = await finished(await place(site, outcome, **timing))
    await open_inspector(page, site)
    detail = await open_call(page, conversation)
    events = stored_events(site, conversation)
    legs = list(dict.fromkeys(e["uuid"] for e in events if e.get("status")))
    svg = detail.locator("svg.timeline")
    await expect(svg.locator("g.lane")).to_have_count(len(legs))
    webhooks = len(events) + len(stored_answers(site, conversation))
    await expect(svg.locator(".mark")).to_have_count(webhooks)
    lanes = await svg.locator("g.lane").evaluate_all("gs => gs.map(g => g.dataset.leg)")
    assert lanes == legs
    app_lane = svg.locator('g.lane[data-direction="outbound"]')
    talked = await app_lane.locator("rect.span.talking").count()
    assert talked == (1 if outcome == "answered" else 0)
    await expect(svg.locator('.ncco-action[data-action="talk"]')).to_have_count(1)
    await expect(svg.locator('.ncco-action[data-action="connect"]')).to_have_count(1)
    await detail.locator(".timeline-section").screenshot(path=artifacts / f"timeline-{outcome}.png")

    async with page.expect_download() as download:
        await detail.locator("button.download").click()
    saved = Path(await (await download.value).path())
    assert (await download.value).suggested_filename == f"{conversation}.svg"
    drawing = ElementTree.parse(saved).getroot()
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert drawing.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(drawing.findall(".//svg:g[@class='lane']", ns)) == len(legs)
    marks = [n for n in drawing.iter() if "mark" in (n.get("class") or "").split()]
    assert len(marks) == webhooks


async def test_a_call_in_progress_updates_without_a_reload(page, site, artifacts):
    await open_inspector(page, site)
    await page.evaluate("window.__notReloaded = true")
    await expect(page.locator("#inspector .live")).to_have_text("live")
    call = await place(site, "answered", answer_after=1.5, hold=1.5)
    row = page.locator(f'tr[data-conversation="{call.id}"]')
    await expect(row.locator(".live-badge")).to_be_visible()
    await expect(page.locator("table.calls tbody tr").first).to_have_attribute(
        "data-conversation", call.id
    )
    detail = await open_call(page, call.id)
    await expect(detail.locator('li.hook.event .status:text-is("answered")')).to_have_count(2)
    await page.screenshot(path=artifacts / "inspector-live.png", full_page=True)
    await finished(call)
    events = stored_events(site, call.id)
    await expect(detail.locator("li.hook.event")).to_have_count(len(events))
    await expect(detail.locator("li.hook.answer")).to_have_count(1)
    await expect(row.locator(".outcome")).to_have_text("answered")
    await expect(row.locator(".live-badge")).to_have_count(0)
    await expect(detail.locator("svg.timeline .mark")).to_have_count(len(events) + 1)
    assert await page.evaluate("window.__notReloaded") is True


async def test_replay_shows_each_response_code(page, site, artifacts, tmp_path):
    conversation = await finished(await place(site, "rejected"))
    webhooks = len(stored_events(site, conversation)) + len(stored_answers(site, conversation))
    await open_inspector(page, site)
    detail = await open_call(page, conversation)
    target = ServeOptions(store=tmp_path / "target.db", quiet=True)
    verifying = ServeOptions(
        store=tmp_path / "verifying.db",
        quiet=True,
        signature_secret="not-the-sandbox-signature-secret-0123456789",
    )
    async with (
        running(create_app(target), "127.0.0.1", 0) as url,
        running(create_app(verifying), "127.0.0.1", 0) as refusing,
    ):
        form = detail.locator("form.replay-form")
        await form.locator("input[name=to]").fill(url)
        await form.locator("button[type=submit]").click()
        results = detail.locator("ol.deliveries > li")
        await expect(results).to_have_count(webhooks)
        codes = await results.evaluate_all("items => items.map(i => i.dataset.status)")
        assert codes == ["200"] * webhooks
        await expect(detail.locator(".replay-summary")).to_have_text(
            f"{webhooks}/{webhooks} accepted by {url} (signed)"
        )
        await detail.locator("section.replay").screenshot(path=artifacts / "inspector-replay.png")

        await form.locator("input[name=to]").fill(refusing)
        await form.locator("button[type=submit]").click()
        await expect(results.first.locator(".code")).to_have_text("401")
        codes = await results.evaluate_all("items => items.map(i => i.dataset.status)")
        assert codes == ["401"] * webhooks
        await expect(results.first.locator(".why")).to_contain_text("bad signature")
