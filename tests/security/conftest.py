"""A real ``vcall serve`` app that requires signed webhooks, and a way to sign requests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from aiohttp import web
from threaded_server import serve_in_thread

from vcall.signing import query_payload, sign
from vcall.web.app import ServeOptions, create_app

#: A realistic signature secret (Vonage's are long random strings).
SECRET = "sandbox-signature-secret-0123456789abcdef"


def bearer(payload: bytes, secret: str = SECRET, now: int | None = None) -> dict[str, str]:
    """The Authorization header Vonage would send for ``payload``."""
    token = sign(secret, payload, api_key="abc123", application_id="app-1", now=now)
    return {"Authorization": f"Bearer {token}"}


def signed_get(params: Iterable[tuple[str, str]], **kwargs: object) -> dict[str, str]:
    """Headers for a GET webhook: the query as compact JSON in the order sent."""
    return bearer(query_payload(list(params)), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def sign_body() -> Callable[..., dict[str, str]]:
    """``sign_body(payload, secret=SECRET, now=None)`` → the Authorization header."""
    return bearer


@pytest.fixture
def sign_query() -> Callable[..., dict[str, str]]:
    """``sign_query([(name, value), ...])`` → the Authorization header for a GET webhook."""
    return signed_get


@pytest.fixture
def options(tmp_path: Path) -> ServeOptions:
    return ServeOptions(store=tmp_path / "events.db", quiet=True, signature_secret=SECRET)


@pytest.fixture
async def client(aiohttp_client, options: ServeOptions):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(options))


@pytest.fixture
def in_thread() -> Callable[[web.Application], AbstractContextManager[str]]:
    """``with in_thread(app) as url:`` a real server on loopback, served from a thread."""
    return serve_in_thread
