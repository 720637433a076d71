"""A sandbox application wired to a real ``vcall serve`` in sandbox mode, on loopback."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from vcall import state as state_file
from vcall._files import write_private
from vcall.paths import Paths
from vcall.sandbox.account import DEFAULT_NUMBER, SandboxState
from vcall.tokens import public_key_pem
from vcall.web.app import ServeOptions, create_app


@dataclass
class Sandbox:
    """The sandbox state of one test, and a way to (re)link its application."""

    paths: Paths
    private_key: str

    @property
    def state(self) -> SandboxState:
        return SandboxState.open(self.paths)

    def provision(
        self,
        public_url: str,
        *,
        signed: bool = True,
        user: str = "Alice",
        answer: dict[str, Any] | None = None,
        fallback: dict[str, Any] | None = None,
        event: dict[str, Any] | None = None,
    ) -> str:
        """What `vcall setup` leaves behind: an application (Applications API v2 JSON) with
        the voice webhooks, the number linked to it, the user, the key and the state file."""
        app_id = str(uuid.uuid4())
        hooks = {
            "answer_url": answer or {"address": f"{public_url}/voice/answer", "http_method": "GET"},
            "event_url": event or {"address": f"{public_url}/voice/event", "http_method": "POST"},
            "fallback_answer_url": fallback
            or {"address": f"{public_url}/voice/fallback", "http_method": "GET"},
        }
        user_id = f"USR-{uuid.uuid4()}"
        state = self.state
        with state.transaction() as doc:
            doc["applications"][app_id] = {
                "id": app_id,
                "name": "vcall-test",
                "keys": {"public_key": public_key_pem(self.private_key)},
                "capabilities": {"voice": {"webhooks": hooks, "signed_callbacks": signed}},
            }
            doc["numbers"][DEFAULT_NUMBER]["app_id"] = app_id
            doc["users"][app_id] = {user_id: {"id": user_id, "name": user}}
        write_private(self.paths.private_key, self.private_key)
        account = state.account
        state_file.save(
            self.paths,
            {
                "mode": "sandbox",
                "application_id": app_id,
                "private_key": str(self.paths.private_key),
                "number": DEFAULT_NUMBER,
                "user_name": user,
                "api_key": account.api_key,
                "signature_secret": account.signature_secret,
            },
        )
        return app_id


@pytest.fixture
def sandbox(isolated: Path, app_key: str) -> Sandbox:
    return Sandbox(Paths.default(), app_key)


@pytest.fixture
def sandbox_options(sandbox: Sandbox, tmp_path: Path, sandbox_serve) -> ServeOptions:  # type: ignore[no-untyped-def]
    """As `vcall serve` runs in sandbox mode: webhooks verified with the account's secret."""
    return sandbox_serve(sandbox.paths, store=tmp_path / "events.db")


@pytest.fixture
async def platform_server(aiohttp_server, sandbox: Sandbox, sandbox_options: ServeOptions):
    """vcall serve in sandbox mode, its application pointing at it (signed callbacks)."""
    server = await aiohttp_server(create_app(sandbox_options))
    sandbox.provision(str(server.make_url("")).rstrip("/"))
    return server


@pytest.fixture
async def api(aiohttp_client, platform_server, sandbox_options: ServeOptions):
    """An HTTP client for the server, sending the page key as a program would."""
    client = await aiohttp_client(platform_server)
    client.session.headers["Authorization"] = f"Bearer {sandbox_options.page_key}"
    return client
