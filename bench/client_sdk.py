"""The page on the real Client SDK against the sandbox: how fast a call rings it and is answered,
and what ``vcall serve`` holds in memory before and after.

Run from the repository root (after the README's test command, which makes .venv, installs
Chromium and the SDK bundle):

    .venv/bin/python bench/client_sdk.py              # 50 calls rung, 50 answered
    .venv/bin/python bench/client_sdk.py --calls 20

A real ``vcall serve --sandbox`` (set up with ``vcall setup``) and one headless Chromium page
signed in as Alice, as a person would have it:

- **ring**: from just before ``POST /sandbox/calls`` is sent to the page showing the invite
  (``callInvite`` fired: the page's text changes; a MutationObserver stamps it). The call is
  rejected in the page before the next one. It includes the answer webhook (the NCCO), the
  platform's media offer and the socket event.
- **answer**: from the Answer click to the app leg's ``answered`` event in the store (read
  every millisecond): the SDK's member join, getUserMedia, the SDP answer, the platform's
  peer applying it and the event webhook's durable commit; the SDK's own promise waits for
  ICE and DTLS too (about the same again). Each call is hung up before the next.
- **memory**: the server's RSS idle (no page), with the page signed in, after 10 answered
  calls and after all of them (aiortc is loaded once a page has signed in).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import _harness as h

#: Stamps the moment the page shows an invite (``callInvite`` has run), in epoch ms.
STAMP_INVITES = """
window.__invites = [];
new MutationObserver(() => {
  const text = document.querySelector('#notification').textContent;
  if (text.startsWith('You are receiving a call')) {
    window.__invites.push(performance.timeOrigin + performance.now());
  }
}).observe(document.querySelector('#notification'), {childList: true, characterData: true, subtree: true});
"""
TARGET_RING_P99_MS = 100
TARGET_ANSWER_P99_MS = 500


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def post_call(url: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}/sandbox/calls",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def answered_at(store: Path, conversation: str, deadline_s: float = 10) -> float:
    """When the app leg's ``answered`` event is in the store (polled every millisecond)."""
    query = (
        "SELECT 1 FROM events WHERE conversation_uuid = ? AND status = 'answered' "
        "AND direction = 'outbound'"
    )
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if db.execute(query, (conversation,)).fetchone():
                return time.time()
            time.sleep(0.001)  # a benchmark, not a test: the reading's resolution
    finally:
        db.close()
    raise RuntimeError(f"no answered event for {conversation}")


async def measure(url: str, key: str, store: Path, pid: int, calls: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    out: dict[str, Any] = {"rss_idle": h.rss_kib(pid)[0]}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=h.CHROMIUM, args=[*h.CHROMIUM_ARGS, *h.CHROMIUM_MEDIA]
        )
        page = await (await browser.new_context()).new_page()
        page.set_default_timeout(15_000)
        await page.goto(f"{url}/?key={key}")
        await page.wait_for_function(
            "document.querySelector('#who').textContent.startsWith('Signed in')"
        )
        await page.evaluate(STAMP_INVITES)
        await asyncio.sleep(1)  # let the server's lazy imports settle before timing
        out["rss_signed_in"] = h.rss_kib(pid)[0]

        ring_ms = []
        for n in range(calls):
            sent = time.time() * 1000
            await asyncio.to_thread(post_call, url, key, {"talk_for": 0})
            await page.wait_for_function(f"window.__invites.length > {n}")
            ring_ms.append(await page.evaluate(f"window.__invites[{n}]") - sent)
            await page.click("#reject")
            await page.wait_for_selector("#answer", state="hidden")

        answer_ms = []
        for n in range(calls):
            call = await asyncio.to_thread(post_call, url, key, {"talk_for": 0})
            await page.wait_for_function(f"window.__invites.length > {calls + n}")
            clicked = time.time()
            await page.click("#answer")
            stored = await asyncio.to_thread(answered_at, store, call["conversation_uuid"])
            answer_ms.append((stored - clicked) * 1000)
            await page.wait_for_selector("#hangup", state="visible")
            await page.click("#hangup")
            await page.wait_for_selector("#hangup", state="hidden")
            if n == 9:
                await asyncio.sleep(0.5)  # the last call's media closed
                out["rss_after_10"] = h.rss_kib(pid)[0]
        await asyncio.sleep(0.5)
        out["rss_after_all"], out["rss_peak"] = h.rss_kib(pid)
        await browser.close()
    out["ring_ms"], out["answer_ms"] = ring_ms, answer_ms
    return out


def run(calls: int) -> dict[str, Any]:
    h.WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="client-sdk-", dir=h.WORK) as scratch:
        home = Path(scratch) / ".vcall"
        env = {**os.environ, "VCALL_HOME": str(home)}
        for name in ("VONAGE_API_KEY", "VONAGE_API_SECRET", "VONAGE_APPLICATION_ID"):
            env.pop(name, None)
        port = h.free_port()
        url = f"http://127.0.0.1:{port}"
        store = home / "events.db"
        cmd = [h.VCALL, "serve", "--sandbox", "--quiet", "--port", str(port), "--store", str(store)]
        with h.server(cmd, f"{url}/healthz", env, cwd=Path(scratch)) as proc:
            subprocess.run(
                [h.VCALL, "setup", "--sandbox", "--public-url", url],
                env=env,
                cwd=scratch,
                check=True,
                capture_output=True,
            )
            key = json.loads((home / "serve.json").read_text())["key"]
            return asyncio.run(measure(url, key, store, proc.pid, calls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="calls rung, and calls answered")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()
    r = run(args.calls)
    ring, answer = r["ring_ms"], r["answer_ms"]
    mib = {k: v / 1024 for k, v in r.items() if k.startswith("rss")}
    rows = [
        [
            "call placed → callInvite in the page",
            f"{statistics.median(ring):.1f} ms",
            f"{percentile(ring, 99):.1f} ms",
            f"{len(ring)} calls",
        ],
        [
            "Answer click → answered event stored",
            f"{statistics.median(answer):.1f} ms",
            f"{percentile(answer, 99):.1f} ms",
            f"{len(answer)} calls",
        ],
        ["vcall serve RSS, idle (no page)", f"{mib['rss_idle']:.1f} MiB", "", ""],
        [
            "vcall serve RSS, a page signed in",
            f"{mib['rss_signed_in']:.1f} MiB",
            "",
            "aiortc loaded",
        ],
        ["vcall serve RSS, after 10 answered calls", f"{mib['rss_after_10']:.1f} MiB", "", ""],
        [
            f"vcall serve RSS, after {len(answer)} answered",
            f"{mib['rss_after_all']:.1f} MiB",
            "",
            f"peak {mib['rss_peak']:.1f} MiB",
        ],
    ]
    ring_ok = percentile(ring, 99) <= TARGET_RING_P99_MS
    answer_ok = percentile(answer, 99) <= TARGET_ANSWER_P99_MS
    notes = [
        f"ring p99 {percentile(ring, 99):.1f} ms (target ≤ {TARGET_RING_P99_MS} ms): {'met' if ring_ok else 'MISSED'}",
        f"answer p99 {percentile(answer, 99):.1f} ms (target ≤ {TARGET_ANSWER_P99_MS} ms): {'met' if answer_ok else 'MISSED'}",
    ]
    title = "The page on the real Client SDK (sandbox, Chromium, loopback)"
    h.publish(title, ["measure", "p50 / value", "p99", "note"], rows, notes, args.markdown)


if __name__ == "__main__":
    main()
