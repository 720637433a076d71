"""End to end: a real vcall serve (sandbox) set up by `vcall setup`'s own service, and one
headless Chromium (Debian's, driven by Playwright) for the whole session."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from vcall import runtime
from vcall.config import Paths
from vcall.web.app import ServeOptions, create_app
from vcall.web.server import running

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
#: The page renews a short-lived JWT half-way through its life: the tests see it happen.
TOKEN_TTL = 4


class LoopThread:
    """An event loop in a thread: servers run there while tests drive the browser (Playwright's
    sync API wants the main thread free of a running loop)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._servers: list[contextlib.AbstractAsyncContextManager[str]] = []

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def serve(self, app: web.Application) -> str:
        """Serve ``app`` on a free loopback port; returns its URL."""

        async def start() -> str:
            server = running(app, "127.0.0.1", 0)
            url = await server.__aenter__()
            self._servers.append(server)
            return url

        return self.run(start())

    def close(self) -> None:
        for server in reversed(self._servers):
            self.run(server.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass
class Site:
    """The served application and what the tests need to reach it."""

    app: web.Application
    url: str
    key: str
    paths: Paths
    loops: LoopThread

    @property
    def page_url(self) -> str:
        return f"{self.url}/?key={self.key}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def loops() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module")
def site(loops: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Site:
    """vcall serve in sandbox mode, set up with `vcall setup`'s service to point at it, and
    announced like `vcall serve` does (so `vcall call` finds it)."""
    from vcall.provision import run_setup
    from vcall.sandbox.state import SandboxState

    home = tmp_path_factory.mktemp("e2e") / ".vcall"
    paths = Paths(home)
    with pytest.MonkeyPatch.context() as env:
        env.chdir(home.parent)
        env.setenv("VCALL_HOME", str(home))
        for name in ("VONAGE_API_KEY", "VONAGE_API_SECRET", "VONAGE_APPLICATION_ID"):
            env.delenv(name, raising=False)
        options = ServeOptions(
            store_path=paths.events_db,
            quiet=True,
            sandbox=True,
            paths=paths,
            signature_secret=SandboxState.open(paths).account.signature_secret,
            token_ttl=TOKEN_TTL,
        )
        app = create_app(options)
        url = loops.serve(app)
        run_setup(mode="sandbox", public_url=url)
        runtime.announce(paths, url, options.page_key)
    return Site(app, url, options.page_key, paths, loops)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
