"""A real ``vcall serve`` application on an ephemeral loopback port, with a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcall.web.app import ServeOptions, create_app


@pytest.fixture
def options(tmp_path: Path) -> ServeOptions:
    return ServeOptions(store=tmp_path / "events.db", quiet=True)


@pytest.fixture
async def server(aiohttp_server, options: ServeOptions):  # type: ignore[no-untyped-def]
    """A running server (real TCP on 127.0.0.1)."""
    return await aiohttp_server(create_app(options))


@pytest.fixture
async def client(aiohttp_client, server):  # type: ignore[no-untyped-def]
    return await aiohttp_client(server)
