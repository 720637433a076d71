"""The OpenAPI description describes exactly the routes vcall serve mounts."""

from __future__ import annotations

from vcall.web.app import create_app
from vcall.web.openapi import OPERATIONS, undocumented


def test_every_mounted_route_is_documented(options):
    missing = undocumented(create_app(options))
    assert missing == [], f"describe these routes in vcall/web/openapi.py OPERATIONS: {missing}"


async def test_served_description_is_keyed_and_loads(client, options):
    import schemathesis

    assert (await client.get("/api/openapi.json")).status == 401
    resp = await client.get(
        "/api/openapi.json", headers={"Authorization": f"Bearer {options.page_key}"}
    )
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.1") and set(doc["paths"]) <= set(OPERATIONS)
    assert {"/healthz", "/voice/answer", "/voice/event", "/api/openapi.json"} <= set(doc["paths"])
    schema = schemathesis.openapi.from_dict(doc)
    labels = {op.ok().label for op in schema.get_all_operations()}
    assert "POST /voice/event" in labels and "GET /voice/answer" in labels
