"""vcall serve's webhooks through a tunnel: pointed, round trip checked, put back on the way out."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from vcall import journal
from vcall import state as state_file
from vcall._errors import Conflict, TunnelError
from vcall.config import load_settings
from vcall.expose import check_webhooks, exposed
from vcall.gateway import WebhookUrls
from vcall.journal import Lease
from vcall.paths import Paths
from vcall.provision import connect, run_setup
from vcall.sandbox.account import SandboxState
from vcall.web.app import ServeOptions, create_app

SETUP_URL = "http://127.0.0.1:3000"


@pytest.fixture
async def server(aiohttp_server, sandbox_options):  # type: ignore[no-untyped-def]
    """A sandbox vcall serve on a port of its own, after a setup that points at :3000."""
    await asyncio.to_thread(run_setup, mode="sandbox")
    options = sandbox_options
    served = await aiohttp_server(create_app(options), host="127.0.0.1")
    served.options = options
    served.base = str(served.make_url("")).rstrip("/")
    return served


def app_hooks() -> WebhookUrls:
    paths = Paths.default()
    state = SandboxState.open(paths)
    return WebhookUrls.of(state.application(state_file.load(paths)["application_id"]))


def expose(server, lines: list[str], **how):  # type: ignore[no-untyped-def]
    paths = Paths.default()
    return exposed(
        server.base,
        server.options.instance,
        mode="sandbox",
        paths=paths,
        settings=load_settings(paths),
        say=lines.append,
        **how,
    )


@pytest.mark.parametrize("name", ["cloudflared", "ngrok", "localtunnel"])
async def test_calls_come_through_the_tunnel_and_the_webhooks_go_back(
    server, tunnels_on_path, name
):
    lines: list[str] = []
    async with expose(server, lines, tunnel=name) as exposure:
        public = exposure.public_url
        assert public.startswith("http://127.0.0.1:") and public != server.base
        assert app_hooks() == WebhookUrls.for_public_url(public)
        assert journal.load(Paths.default()).previous == WebhookUrls.for_public_url(SETUP_URL)
        assert f"round trip: {public} reaches this server" in lines
        # A call placed now: its answer request and events come in through the tunnel.
        headers = {"Authorization": f"Bearer {server.options.page_key}"}
        async with aiohttp.ClientSession(server.base, headers=headers) as http:
            placed = await http.post(
                "/sandbox/calls", json={"outcome": "answered", "talk_for": 0, "answer_after": 0,
                                        "hold": 0.05},
            )  # fmt: skip
            call = await placed.json()
            done = await http.get(f"/sandbox/calls/{call['conversation_uuid']}?wait=20")
            summary = await done.json()
        assert summary["outcome"] == "answered" and summary["errors"] == []
        assert summary["answer_requests"][0]["url"].startswith(f"{public}/voice/answer")
    assert app_hooks() == WebhookUrls.for_public_url(SETUP_URL)
    assert journal.load(Paths.default()) is None
    assert exposure.tunnel.process.returncode is not None
    assert lines[-1] == "webhooks put back to http://127.0.0.1:3000"


async def test_the_sandbox_application_follows_serve_to_another_port(server):
    lines: list[str] = []
    async with expose(server, lines) as exposure:
        assert exposure.public_url == server.base
        assert app_hooks() == WebhookUrls.for_public_url(server.base)
    assert any(f"instead of {SETUP_URL} until vcall serve stops" in line for line in lines)
    assert app_hooks() == WebhookUrls.for_public_url(SETUP_URL)


async def test_a_public_url_that_leads_elsewhere_changes_nothing(server, aiohttp_server):
    other = await aiohttp_server(create_app(ServeOptions(store=Paths.default().home / "x")))
    with pytest.raises(TunnelError) as caught:
        async with expose(server, [], public_url=str(other.make_url("")).rstrip("/")):
            pass
    assert "leads to another vcall serve, not this one" in str(caught.value)
    assert app_hooks() == WebhookUrls.for_public_url(SETUP_URL)
    assert journal.load(Paths.default()) is None


async def test_the_tunnel_dying_is_noticed(server, tunnels_on_path):
    with pytest.raises(TunnelError) as caught:
        async with expose(server, [], tunnel="localtunnel") as exposure:
            exposure.tunnel.process.kill()
            await asyncio.wait_for(exposure.lost(), 10)
    assert str(caught.value).startswith("the tunnel (localtunnel) exited with code -9")
    assert app_hooks() == WebhookUrls.for_public_url(SETUP_URL)


async def test_a_second_serve_with_a_tunnel_is_refused(server, tunnels_on_path):
    held = Lease.take(Paths.default())
    try:
        with pytest.raises(Conflict, match="another vcall serve of this folder"):
            async with expose(server, [], tunnel="cloudflared"):
                pass
    finally:
        held.release()
    assert app_hooks() == WebhookUrls.for_public_url(SETUP_URL)


async def test_an_application_url_that_leads_elsewhere_is_one_warning_line(server, isolated):
    # What a live serve says of the application's own URL (here asked of the sandbox).
    paths = Paths.default()
    settings = load_settings(paths)
    app_id = state_file.load(paths)["application_id"]
    lines: list[str] = []
    await check_webhooks(app_id, server.options.instance, lambda: connect("sandbox", settings),
                         lines.append)  # fmt: skip
    (warning,) = lines
    assert warning.startswith(
        "Warning: the application's webhooks go to http://127.0.0.1:3000, which does not reach "
        "this server"
    )
    assert warning.endswith("run `vcall serve --live --tunnel cloudflared` (or --public-url URL) "
                            "to point them here while it runs")  # fmt: skip

    await asyncio.to_thread(run_setup, mode="sandbox", public_url=server.base)
    lines.clear()
    await check_webhooks(app_id, server.options.instance, lambda: connect("sandbox", settings),
                         lines.append)  # fmt: skip
    assert lines == [f"webhooks: {server.base} reaches this server"]
