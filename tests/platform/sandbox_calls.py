"""Helpers for tests that place simulated calls (imported by the tests in this folder)."""

from __future__ import annotations

import json
from typing import Any

from vcall.web.app import ServeOptions


async def place_call(api, *, wait: float = 10, **body: Any) -> dict[str, Any]:
    """POST /sandbox/calls, then wait for the call to end; returns its summary."""
    resp = await api.post("/sandbox/calls", json=body)
    assert resp.status == 201, await resp.text()
    call = await resp.json()
    resp = await api.get(f"/sandbox/calls/{call['conversation_uuid']}", params={"wait": str(wait)})
    summary = await resp.json()
    assert summary["ended"], summary
    return summary


async def call_events(options: ServeOptions, conversation: str) -> list[dict[str, Any]]:
    """The events the server committed for one conversation, in arrival order."""
    from vcall.store import open_store

    store = open_store(options.store)
    await store.open()
    try:
        return [json.loads(e.raw) for e in await store.events(conversation=conversation)]
    finally:
        await store.close()
