"""The sandbox API on a real loopback server, and helpers to call it as Vonage's clients do."""

from __future__ import annotations

import base64
import copy
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from vcall.paths import Paths
from vcall.sandbox.account import SandboxState
from vcall.sandbox.rest.service import create_sandbox_app


@pytest.fixture
def state(isolated) -> SandboxState:  # type: ignore[no-untyped-def]
    return SandboxState.open(Paths.default())


@pytest.fixture
def basic(state: SandboxState) -> dict[str, str]:
    """The Authorization header of the sandbox account."""
    account = state.account
    raw = f"{account.api_key}:{account.api_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.fixture
async def api(aiohttp_client, state: SandboxState):  # type: ignore[no-untyped-def]
    """The sandbox API over plain HTTP on loopback (TLS is covered by the SDK tests)."""
    return await aiohttp_client(create_sandbox_app(state))


VOICE = {
    "webhooks": {
        "answer_url": {"address": "http://127.0.0.1:3000/voice/answer", "http_method": "GET"},
        "event_url": {"address": "http://127.0.0.1:3000/voice/event", "http_method": "POST"},
    },
    "signed_callbacks": True,
}


@pytest.fixture
def make_app(api: Any, basic: dict[str, str]) -> Callable[..., Awaitable[dict[str, Any]]]:
    """POST /v2/applications with a voice capability; returns the 201 body."""

    async def make(**extra: Any) -> dict[str, Any]:
        body = {"name": "test", "capabilities": {"voice": copy.deepcopy(VOICE)}, **extra}
        resp = await api.post("/v2/applications", json=body, headers=basic)
        assert resp.status == 201, await resp.text()
        return await resp.json()

    return make
