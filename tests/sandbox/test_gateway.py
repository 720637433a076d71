"""The gateway turns every SDK and transport failure into one clear VcallError line."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web

from vcall._errors import AuthError, NotFound, RateLimited, UpstreamError
from vcall.gateway import Gateway, WebhookUrls
from vcall.modes import Credentials, trusting


@pytest.fixture
def tls(state):  # type: ignore[no-untyped-def]
    return state.tls()


async def failing_server(aiohttp_server, tls, status: int, body: str):  # type: ignore[no-untyped-def]
    """An HTTPS server (the sandbox's certificate) that answers everything with ``status``."""

    async def answer(request: web.Request) -> web.Response:
        response = web.Response(status=status, text=body, content_type="application/json")
        response.force_close()  # as the sandbox does: no idle connection outlives the test
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    server = await aiohttp_server(app, ssl=tls.server_context())
    return f"127.0.0.1:{server.port}"


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (429, "{}", RateLimited, "rate-limiting"),
        (500, '{"title": "Internal Error"}', UpstreamError, "answered 500"),
        (503, "<html>down</html>", UpstreamError, "answered 503"),
        (401, "{}", AuthError, "check VONAGE_API_KEY / VONAGE_API_SECRET"),
        (404, '{"detail": "nope"}', NotFound, "nope"),
    ],
)
async def test_http_failures_are_one_line(aiohttp_server, tls, caplog, status, body, error, words):
    host = await failing_server(aiohttp_server, tls, status, body)
    gateway = Gateway("sandbox", Credentials("key", "secret"), host, host)
    with trusting(tls.ca_cert), pytest.raises(error) as caught:
        await asyncio.to_thread(gateway.owned_numbers)
    assert words in str(caught.value) and "\n" not in str(caught.value)
    # The SDK's own warning (with the raw body) is not shown next to ours.
    assert not [r for r in caplog.records if r.name.startswith("vonage")]


def test_an_unreachable_host_is_named(tls):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{sock.getsockname()[1]}"
    gateway = Gateway("sandbox", Credentials("key", "secret"), host, host)
    with trusting(tls.ca_cert), pytest.raises(UpstreamError) as caught:
        gateway.owned_numbers()
    assert f"cannot reach {host}" in str(caught.value)


async def test_an_untrusted_certificate_is_a_tls_error(aiohttp_server, tls):
    host = await failing_server(aiohttp_server, tls, 200, "{}")
    gateway = Gateway("sandbox", Credentials("key", "secret"), host, host)
    with pytest.raises(UpstreamError) as caught:  # no _trusting: the system CAs only
        await asyncio.to_thread(gateway.owned_numbers)
    assert "TLS" in str(caught.value) and "vcall sandbox reset --all" in str(caught.value)


def test_trusting_restores_the_environment(monkeypatch, tls):
    import os

    monkeypatch.setenv("NO_PROXY", "example.com")
    with trusting(tls.ca_cert):
        assert os.environ["REQUESTS_CA_BUNDLE"] == str(tls.ca_cert)
        assert os.environ["NO_PROXY"] == "example.com,127.0.0.1,localhost"
    assert "REQUESTS_CA_BUNDLE" not in os.environ
    assert os.environ["NO_PROXY"] == "example.com"


def test_a_refused_jwt_points_at_the_private_key(state):
    from vcall.config import load_settings
    from vcall.keygen import new_key_pair
    from vcall.paths import Paths
    from vcall.provision import connect

    with connect("sandbox", load_settings(Paths.default())) as gateway:
        app = gateway.create_application("x", _hooks())
        with pytest.raises(AuthError) as caught:
            gateway.find_users(app["id"], new_key_pair()[0], "Alice")
    assert "VONAGE_PRIVATE_KEY" in str(caught.value)


def _hooks() -> WebhookUrls:
    return WebhookUrls.for_public_url("http://127.0.0.1:3000")
