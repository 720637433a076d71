"""Each tunnel program started as its documentation shows, its URL read from its own output."""

from __future__ import annotations

import os
import signal
import sys

import aiohttp
import pytest
from aiohttp import web

from vcall._errors import ConfigError, TunnelError
from vcall.tunnel import PROGRAMS, Tunnel, plan


@pytest.fixture
async def origin(aiohttp_server):  # type: ignore[no-untyped-def]
    """The local server a tunnel forwards to: it says who it is and echoes what it got."""

    async def hello(request: web.Request) -> web.Response:
        return web.json_response(
            {"me": "origin", "method": request.method, "body": (await request.text())}
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hello)
    server = await aiohttp_server(app, host="127.0.0.1")
    return str(server.make_url("")).rstrip("/")


@pytest.mark.parametrize("name", list(PROGRAMS))
async def test_each_tunnel_gives_its_url_forwards_and_stops(tunnels_on_path, origin, alive, name):
    tunnel = await Tunnel.start(name, origin, timeout=20)
    try:
        assert tunnel.url.startswith("http://127.0.0.1:") and tunnel.url != origin
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{tunnel.url}/voice/event", data=b"through") as resp,
        ):
            assert resp.status == 200
            assert await resp.json() == {"me": "origin", "method": "POST", "body": "through"}
    finally:
        await tunnel.stop()
    assert tunnel.process.returncode is not None and not alive(tunnel.pid)


def test_the_command_lines_are_the_documented_ones():
    url = "http://127.0.0.1:3100"
    assert plan("cloudflared", url).argv == [
        "cloudflared", "tunnel", "--no-autoupdate", "--url", url,
    ]  # fmt: skip
    assert plan("ngrok", url).argv == [
        "ngrok", "http", url, "--log", "stdout", "--log-format", "json",
    ]  # fmt: skip
    assert plan("localtunnel", url).argv == ["lt", "--port", "3100", "--local-host", "127.0.0.1"]
    given = plan("ssh -R 80:{host}:{port} serveo.net", url)
    assert given.argv == ["ssh", "-R", "80:127.0.0.1:3100", "serveo.net"]


def test_only_the_line_that_carries_the_url_is_read():
    cloudflared = PROGRAMS["cloudflared"].public_url
    assert (
        cloudflared("INF ... Terms of Use (https://www.cloudflare.com/website-terms/), ...") is None
    )
    assert cloudflared("INF |  Your quick Tunnel has been created! Visit it at:  |") is None
    assert cloudflared("INF |  https://a-b-c.trycloudflare.com      |") == (
        "https://a-b-c.trycloudflare.com"
    )
    ngrok = PROGRAMS["ngrok"].public_url
    started = '{"msg":"started tunnel","name":"command_line","url":"https://ab12.ngrok-free.app"}'
    assert ngrok(started) == "https://ab12.ngrok-free.app"
    assert ngrok('{"msg":"started tunnel","name":"command_line (http)","url":"http://x"}') is None
    assert ngrok('{"msg":"failed to start tunnel","err":"see https://ngrok.com/docs"}') is None
    assert ngrok("t=1 lvl=info msg=started") is None
    lt = PROGRAMS["localtunnel"].public_url
    assert lt("your url is: https://cold-fox-12.loca.lt") == "https://cold-fox-12.loca.lt"
    given = plan("my-tunnel {port}", "http://127.0.0.1:3000").public_url
    assert given("forwarding http://127.0.0.1:3000 from https://x.example.net.") == (
        "https://x.example.net"
    )


async def test_a_missing_program_is_one_line_naming_how_to_install_it(monkeypatch, origin):
    monkeypatch.setenv("PATH", "/nonexistent")
    for name, hint in (
        ("cloudflared", "brew install cloudflared"),
        ("ngrok", "ngrok config add-authtoken"),
        ("localtunnel", "npm install -g localtunnel"),
    ):
        with pytest.raises(ConfigError) as caught:
            await Tunnel.start(name, origin)
        message = str(caught.value)
        assert "\n" not in message and hint in message and "--public-url" in message


async def test_a_tunnel_that_fails_says_what_it_printed(tunnels_on_path, origin, monkeypatch):
    monkeypatch.setenv("STANDIN_FAIL", "ERROR: authentication failed: ERR_NGROK_4018")
    with pytest.raises(TunnelError) as caught:
        await Tunnel.start("ngrok", origin)
    assert "exited (code 1) before printing its public URL" in str(caught.value)
    assert "ERR_NGROK_4018" in str(caught.value)


async def test_a_tunnel_that_prints_no_url_is_stopped_at_the_deadline(tunnels_on_path, origin):
    # Without --log stdout, ngrok draws its console instead of logging: nothing to read.
    with pytest.raises(TunnelError) as caught:
        await Tunnel.start("ngrok http {port}", origin, timeout=1)
    assert "printed no public URL within 1 s" in str(caught.value)


async def test_a_full_command_is_run_and_its_exit_is_seen(origin):
    script = "import sys; print('tunnel up at https://demo.example.net', flush=True); sys.exit(3)"
    tunnel = await Tunnel.start(f'{sys.executable} -c "{script}"', origin, timeout=10)
    assert tunnel.url == "https://demo.example.net"
    code = await tunnel.exited()
    assert code == 3
    assert tunnel.why_it_ended(code).startswith(f"the tunnel ({os.path.basename(sys.executable)})")


async def test_stop_ends_a_tunnel_that_ignores_sigterm(origin, monkeypatch):
    monkeypatch.setattr("vcall.tunnel.STOP_TIMEOUT", 0.5)
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('https://stubborn.example.net', flush=True); time.sleep(60)"
    )
    tunnel = await Tunnel.start(f'{sys.executable} -c "{script}"', origin, timeout=10)
    await tunnel.stop()
    assert tunnel.process.returncode == -signal.SIGKILL
