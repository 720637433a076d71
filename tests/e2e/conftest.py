"""End to end: a real vcall serve (sandbox) set up by `vcall setup`'s own service, and one
headless Chromium (Debian's, driven by Playwright) for the whole session.

The browser, the served site and the browser tests share pytest-asyncio's session loop
(``loop_scope="session"``), so the servers and Playwright run side by side on it.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from chromium import HEADLESS, MEDIA
from chromium import PATH as CHROMIUM

from vcall.paths import Paths
from vcall.remote import discovery
from vcall.serving import running
from vcall.web.app import create_app

CHROMIUM_ARGS = [*HEADLESS, *MEDIA]
#: The page renews a short-lived JWT half-way through its life: the tests see it happen.
TOKEN_TTL = 4


@dataclass
class Site:
    """The served application and what the tests need to reach it."""

    app: web.Application
    url: str
    key: str
    paths: Paths
    token_ttl: int

    @property
    def page_url(self) -> str:
        return f"{self.url}/?key={self.key}"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(tmp_path_factory: pytest.TempPathFactory, sandbox_serve: Any) -> AsyncIterator[Site]:
    """vcall serve in sandbox mode, set up with `vcall setup`'s service to point at it, and
    announced like `vcall serve` does (so `vcall call` finds it)."""
    from vcall.provision import run_setup

    home = tmp_path_factory.mktemp("e2e") / ".vcall"
    paths = Paths(home)
    options = sandbox_serve(paths, token_ttl=TOKEN_TTL)
    app = create_app(options)
    async with running(app, "127.0.0.1", 0) as url:
        with pytest.MonkeyPatch.context() as env:
            env.chdir(home.parent)
            env.setenv("VCALL_HOME", str(home))
            for name in ("VONAGE_API_KEY", "VONAGE_API_SECRET", "VONAGE_APPLICATION_ID"):
                env.delenv(name, raising=False)
            await asyncio.to_thread(run_setup, mode="sandbox", public_url=url)
        discovery.announce(paths, url, options.page_key)
        yield Site(app, url, options.page_key, paths, TOKEN_TTL)


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Any) -> AsyncIterator[Any]:
    """A tab; the test fails if it loads sandbox.js or any script from another server."""
    context = await browser.new_context()
    tab = await context.new_page()
    tab.set_default_timeout(10_000)
    scripts: list[str] = []
    tab.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    yield tab
    await context.close()
    wrong = [
        u for u in scripts if u.endswith("/sandbox.js") or not u.startswith("http://127.0.0.1:")
    ]
    assert wrong == [], f"the page loaded scripts it must not: {wrong}"
    assert any(u.endswith("/sdk/vonageClientSDK.min.js") for u in scripts) or not scripts
