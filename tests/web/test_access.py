"""The page key guards everything but the webhooks."""

from __future__ import annotations

import pytest
from aiohttp import web

from vcall.remote.discovery import announce, find, page_key, withdraw
from vcall.web.access import guarded
from vcall.web.app import create_app

KEYED = "/api/ping"


@pytest.fixture
async def client(aiohttp_client, options):
    """The real app plus one keyed route to knock on."""

    async def ping(request: web.Request) -> web.Response:
        return web.json_response({"pong": True})

    app = create_app(options)
    app.router.add_get(KEYED, guarded(ping))
    return await aiohttp_client(app)


async def test_a_route_outside_the_webhooks_without_the_guard_stops_the_start(options):
    async def open_door(request: web.Request) -> web.Response:
        return web.json_response({"oops": True})

    app = create_app(options)
    app.router.add_get("/api/open-door", open_door)
    runner = web.AppRunner(app)
    try:
        with pytest.raises(RuntimeError, match="/api/open-door is not behind the page key"):
            await runner.setup()  # runs the start-up checks
    finally:
        await runner.cleanup()


async def test_keyed_route_without_key_is_refused(client):
    resp = await client.get(KEYED)
    assert resp.status == 401
    assert "key" in (await resp.json())["error"]


async def test_wrong_key_is_refused(client):
    assert (await client.get(KEYED, params={"key": "wrong"})).status == 401
    assert (await client.get(KEYED, headers={"Authorization": "Bearer wrong"})).status == 401


async def test_key_in_url_sets_strict_httponly_cookie(client, options):
    resp = await client.get(KEYED, params={"key": options.page_key})
    assert resp.status == 200
    cookie = resp.cookies["vcall_key"]
    assert cookie.value == options.page_key
    assert cookie["httponly"] is True and cookie["samesite"] == "Strict"
    # the cookie alone now opens keyed routes
    assert (await client.get(KEYED)).status == 200


async def test_bearer_key_for_programs(client, options):
    resp = await client.get(KEYED, headers={"Authorization": f"Bearer {options.page_key}"})
    assert resp.status == 200


async def test_foreign_origin_is_refused(client, options):
    headers = {"Authorization": f"Bearer {options.page_key}", "Origin": "https://evil.example"}
    assert (await client.get(KEYED, headers=headers)).status == 403


@pytest.mark.parametrize("path", ["/healthz", "/voice/answer"])
async def test_webhooks_need_no_key(client, path):
    assert (await client.get(path)).status == 200


def test_page_key_is_kept_private_and_reused(isolated):
    from vcall.paths import Paths

    paths = Paths.default()
    key = page_key(paths)
    assert page_key(paths) == key and len(key) >= 32
    assert (paths.home / "page.key").stat().st_mode & 0o777 == 0o600
    announce(paths, "http://127.0.0.1:3000", key)
    assert paths.runtime.stat().st_mode & 0o777 == 0o600
    assert find(paths).url == "http://127.0.0.1:3000"
    withdraw(paths)
    assert not paths.runtime.exists()


@pytest.mark.parametrize(("method", "path"), [("GET", "/no-such-page"), ("POST", "/api/events")])
async def test_any_other_path_needs_the_key_then_is_a_json_404(client, options, method, path):
    assert (await client.request(method, path)).status == 401
    bearer = {"Authorization": f"Bearer {options.page_key}"}
    resp = await client.request(method, path, headers=bearer)
    assert resp.status == 404 and (await resp.json())["ok"] is False
