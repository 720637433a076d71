"""Users API in the sandbox: RS256 JWTs verified against the application's public key."""

from __future__ import annotations

import pytest
from yarl import URL

from vcall import keygen, tokens


@pytest.fixture
async def app(make_app):  # type: ignore[no-untyped-def]
    return await make_app()


def bearer(app: dict, **claims: object) -> dict[str, str]:
    """What the SDK sends: an application JWT (vonage_jwt), here with optional extra claims."""
    from vonage_jwt import JwtClient

    token = JwtClient(app["id"], app["keys"]["private_key"]).generate_application_jwt(claims)
    return {"Authorization": f"Bearer {token.decode()}"}


async def test_create_get_list_delete(api, app, state):
    headers = bearer(app)
    resp = await api.post(
        "/v1/users", json={"name": "Alice", "display_name": "Alice"}, headers=headers
    )
    user = await resp.json()
    assert resp.status == 201
    assert user["id"].startswith("USR-") and user["name"] == "Alice"
    assert user["_links"]["self"]["href"].endswith(f"/v1/users/{user['id']}")
    assert state.user_by_name("Alice", app["id"])["id"] == user["id"]

    resp = await api.get(f"/v1/users/{user['id']}", headers=headers)
    assert (await resp.json())["display_name"] == "Alice"
    resp = await api.get("/v1/users", params={"name": "Alice"}, headers=headers)
    listed = await resp.json()
    assert [u["id"] for u in listed["_embedded"]["users"]] == [user["id"]]
    assert listed["page_size"] == 10 and "self" in listed["_links"]

    resp = await api.delete(f"/v1/users/{user['id']}", headers=headers)
    assert resp.status == 204
    resp = await api.get(f"/v1/users/{user['id']}", headers=headers)
    body = await resp.json()
    assert resp.status == 404
    assert body["code"] == "user:error:not-found" and body["title"]


async def test_duplicate_name_is_409(api, app):
    headers = bearer(app)
    await api.post("/v1/users", json={"name": "Alice"}, headers=headers)
    resp = await api.post("/v1/users", json={"name": "Alice"}, headers=headers)
    body = await resp.json()
    assert resp.status == 409
    assert body["code"] == "user:error:duplicate-name"


async def test_cursor_paging(api, app):
    headers = bearer(app)
    for name in ("a", "b", "c"):
        await api.post("/v1/users", json={"name": name}, headers=headers)
    resp = await api.get("/v1/users", params={"page_size": "2"}, headers=headers)
    first = await resp.json()
    assert [u["name"] for u in first["_embedded"]["users"]] == ["a", "b"]
    cursor_url = first["_links"]["next"]["href"]
    resp = await api.get(URL(cursor_url).path_qs, headers=headers)
    second = await resp.json()
    assert [u["name"] for u in second["_embedded"]["users"]] == ["c"]
    assert "next" not in second["_links"]


async def test_a_token_signed_by_another_key_is_refused(api, app):
    other_private, _ = keygen.new_key_pair()
    forged = tokens.mint(app["id"], other_private, "Alice")
    resp = await api.get("/v1/users", headers={"Authorization": f"Bearer {forged}"})
    body = await resp.json()
    assert resp.status == 401
    assert body["code"] == "system:error:invalid-token"
    resp = await api.get("/v1/users")
    assert resp.status == 401


async def test_a_client_token_needs_an_acl_that_grants_users(api, app):
    minimal = tokens.mint(app["id"], app["keys"]["private_key"], "Alice")
    resp = await api.get("/v1/users", headers={"Authorization": f"Bearer {minimal}"})
    assert resp.status == 200
    narrow = tokens.mint(
        app["id"], app["keys"]["private_key"], "Alice", acl={"paths": {"/*/sessions/**": {}}}
    )
    resp = await api.get("/v1/users", headers={"Authorization": f"Bearer {narrow}"})
    assert resp.status == 403
