"""Secrets hygiene: no secret in any log line at any level; private files and folders."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from aiohttp import web

from vcall import _logging, tokens
from vcall.config import load_settings
from vcall.paths import Paths
from vcall.remote import discovery
from vcall.web.access import guarded
from vcall.web.app import ServeOptions, create_app

API_SECRET = "api-secret-0123456789"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record at DEBUG from every logger, with vcall's redaction installed."""
    _logging.install()
    caplog.set_level(logging.DEBUG)
    return caplog


def _leaks(text: str, secrets: list[str]) -> list[str]:
    """Which secrets (or secret-shaped strings) appear in ``text``."""
    found = [s[:12] + "…" for s in secrets if s in text]
    if "eyJ" in text:
        found.append("a JWT")
    if "PRIVATE KEY-----" in text:
        found.append("a PEM private key")
    return found


def _all_text(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records)


def test_redact_by_value_and_by_shape(app_key):
    _logging.protect("my-page-key-value", None, "short")
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    text = _logging.redact(
        f"key my-page-key-value; {{'Authorization': 'Basic YWJjOmRlZg==', 'X': 1}} "
        f"token {jwt_like} api_secret=hunter22hunter22&x=1 {app_key} short"
    )
    assert "my-page-key-value" not in text and "YWJjOmRlZg" not in text
    assert "hunter22" not in text and "eyJ" not in text and "PRIVATE KEY-----" not in text
    assert "short" in text and "'X': 1" in text and "x=1" in text  # the rest is kept


def test_vonage_logger_is_pinned_and_its_headers_redacted(logs, app_key):
    vonage = logging.getLogger("vonage")
    assert vonage.level == logging.WARNING
    token = tokens.mint("app-1", app_key, "Alice")
    # What the SDK logs at DEBUG, should anyone turn it up again.
    vonage.setLevel(logging.DEBUG)
    try:
        vonage.debug(
            "Sending request to https://api.nexmo.com with headers %s",
            {"Authorization": f"Bearer {token}", "User-Agent": "vonage-python-sdk"},
        )
    finally:
        _logging.install()
    assert logs.records and "vonage-python-sdk" in logs.text
    assert _leaks(_all_text(logs), [token]) == []


async def test_serve_logs_no_secret_at_debug(
    logs, aiohttp_client, monkeypatch, options, app_key, sign_body
):
    # Credentials arrive the way vcall serve gets them: environment → load_settings.
    monkeypatch.setenv("VONAGE_SIGNATURE_SECRET", options.signature_secret)
    monkeypatch.setenv("VONAGE_API_SECRET", API_SECRET)
    monkeypatch.setenv("VONAGE_PRIVATE_KEY", app_key)
    paths = Paths.default()
    settings = load_settings(paths)
    key = discovery.page_key(paths)
    app = create_app(
        ServeOptions(
            store=paths.events_db, page_key=key, signature_secret=settings.signature_secret
        )
    )

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError(f"failed with {settings.api_secret} and {request.headers['X-Token']}")

    app.router.add_get("/api/boom", guarded(boom))
    client = await aiohttp_client(app)
    body = b'{"uuid":"u","status":"started"}'
    signed = sign_body(body)
    assert (await client.post("/voice/event", data=body, headers=signed)).status == 200
    assert (await client.post("/voice/event", data=body, headers=signed)).status == 401
    assert (await client.get("/voice/answer", params={"token": signed["Authorization"]})).status
    assert (await client.get("/healthz", params={"key": key})).status == 200
    user_jwt = tokens.mint("app-1", app_key, "Alice")
    resp = await client.get("/api/boom", params={"key": key}, headers={"X-Token": user_jwt})
    assert resp.status == 500
    logging.getLogger("vcall.test").debug("settings %r options %r", settings, app)

    text = _all_text(logs)
    assert "unhandled error" in text and "aiohttp.access" in text  # DEBUG really was captured
    secrets = [key, options.signature_secret, API_SECRET, app_key, user_jwt]
    assert _leaks(text, secrets) == []


def _not_private(root: Path, modes: dict[str, int]) -> dict[str, str]:
    """The entries of ``modes`` that are not 0700 folders or 0600 files."""
    return {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (root.parent / name).is_dir() else 0o600)
    }


def _modes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root.parent)): stat.S_IMODE(p.stat().st_mode)
        for p in [root, *root.rglob("*")]
    }


async def test_vcall_files_and_folders_are_private(aiohttp_client, options, sign_body):
    paths = Paths.default()
    app = create_app(
        ServeOptions(
            store=paths.events_db,
            page_key=discovery.page_key(paths),
            signature_secret=options.signature_secret,
        )
    )
    client = await aiohttp_client(app)
    discovery.announce(paths, "http://127.0.0.1:1", "k")
    body = b'{"uuid":"u","status":"started"}'
    assert (await client.post("/voice/event", data=body, headers=sign_body(body))).status == 200
    modes = _modes(paths.home)  # while serving: the -wal and -shm files exist too
    assert any(name.endswith("-wal") for name in modes)
    assert _not_private(paths.home, modes) == {}


@pytest.mark.e2e
async def test_serve_process_at_debug_prints_no_secret(serve_process, options, app_key, sign_body):
    """The real command, logging at DEBUG, driven with keys, tokens and forgeries."""
    import aiohttp

    env = {
        "VCALL_LOG_LEVEL": "DEBUG",
        "PYTHONASYNCIODEBUG": "1",
        "VONAGE_SIGNATURE_SECRET": options.signature_secret,
        "VONAGE_API_SECRET": API_SECRET,
        "VONAGE_PRIVATE_KEY": app_key,
    }
    server = serve_process("--live", env=env)  # live: the secret comes from the environment
    key = (server.home / "page.key").read_text().strip()
    user_jwt = tokens.mint("app-1", app_key, "Alice")
    body = b'{"uuid":"u","status":"started"}'
    signed = sign_body(body)
    async with aiohttp.ClientSession(server.url) as http:
        for headers in (signed, signed, {"Authorization": f"Bearer {user_jwt}"}, {}):
            async with http.post("/voice/event", data=body, headers=headers) as resp:
                await resp.read()
        async with http.get("/api/events", params={"key": key}) as resp:
            assert resp.status == 200
        async with http.get("/api/events", headers={"Authorization": f"Bearer {user_jwt}"}) as r:
            assert r.status == 401
    server.stop()
    # The one line meant to show the key: the page URL printed for the user to open.
    out = "\n".join(
        line for line in server.output().splitlines() if not line.strip().startswith("the page")
    )
    # It did log at DEBUG, and saw both the signed event and the forgeries.
    assert "DEBUG vcall.web.signed: signed by Vonage" in out and "REJECTED 401" in out
    assert _leaks(out, [key, options.signature_secret, API_SECRET, app_key, user_jwt]) == []


@pytest.mark.e2e
def test_setup_and_token_at_debug_print_no_secret_and_files_are_private(isolated):
    """vcall setup (the real SDK against the sandbox) logging at DEBUG, then vcall token."""
    import json
    import os
    import subprocess
    import sys

    from vcall.sandbox.account import SandboxState

    env = {**os.environ, "VCALL_LOG_LEVEL": "DEBUG"}

    def vcall(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "vcall", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done

    setup = vcall("setup", "--sandbox")
    token = vcall("token", "Alice")
    paths = Paths.default()
    account = SandboxState.open(paths).account
    saved = json.loads(paths.state.read_text())
    secrets = [
        account.api_secret,
        account.signature_secret,
        paths.private_key.read_text(),
        token.stdout.strip(),
    ]
    logged = setup.stdout + setup.stderr + token.stderr  # the token itself is token's stdout
    assert "DEBUG" in setup.stderr  # it really logged at DEBUG (urllib3, the sandbox)
    assert _leaks(logged, secrets) == []
    assert saved["application_id"] and token.stdout.count(".") == 2

    modes = _modes(paths.home)
    assert any(name.endswith("private.key") for name in modes)
    assert _not_private(paths.home, modes) == {}
