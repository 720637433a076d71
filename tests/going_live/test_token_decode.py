"""``vcall token --decode``: the doctor's findings, asked of the sandbox application's users."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from typer.testing import CliRunner

from vcall import tokens
from vcall.cli import app
from vcall.keygen import new_key_pair
from vcall.paths import Paths
from vcall.provision import run_setup

runner = CliRunner()


@pytest.fixture
def setup(isolated):  # type: ignore[no-untyped-def]
    return run_setup(mode="sandbox")


def decode(token: str, code: int) -> dict:
    result = runner.invoke(app, ["token", "--decode", token, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def verdicts(document: dict) -> dict[str, bool | None]:
    return {f["name"]: f["ok"] for f in document["findings"]}


def test_a_token_vcall_mints_for_alice_is_healthy(setup):
    minted = runner.invoke(app, ["token", "Alice"]).stdout.strip()
    document = decode(minted, 0)
    assert document["ok"] is True and document["signature"] == "valid"
    assert document["claims"]["sub"] == "Alice"
    assert verdicts(document) == {"exp": True, "sub": True, "acl": True, "signature": True}
    assert all(set(f) == {"name", "ok", "detail", "fix"} for f in document["findings"])


def test_a_user_the_application_does_not_have_is_flagged(setup):
    minted = runner.invoke(app, ["token", "Bob"]).stdout.strip()
    document = decode(minted, 1)
    assert verdicts(document)["sub"] is False and document["ok"] is False
    text = runner.invoke(app, ["token", "--decode", minted])
    assert text.exit_code == 1
    assert "✗ sub        'Bob' is not a user of the application" in text.stdout
    assert "fix: vcall setup --user Bob (creates it)" in text.stdout


def test_milliseconds_another_key_and_a_narrow_acl_are_each_flagged(setup):
    other, _ = new_key_pair()
    now = int(time.time())
    claims = {
        "application_id": setup.application_id,
        "sub": "Alice",
        "iat": now,
        "exp": (now + 600) * 1000,
        "jti": "x",
        "acl": {"paths": {"/*/users/**": {}}},
    }
    forged = jwt.encode(claims, tokens.load_key(other), algorithm="RS256")
    document = decode(forged, 1)
    assert verdicts(document) == {"exp": False, "sub": True, "acl": False, "signature": False}
    assert document["signature"] == "invalid"


def test_without_an_application_the_user_is_not_checked(isolated, app_key):
    token = tokens.mint("some-app", app_key, "Alice", ttl=60)
    key = Paths.default().home / "k.pem"
    key.parent.mkdir()
    key.write_text(app_key)
    result = runner.invoke(app, ["token", "--decode", token, "--private-key", str(key), "--json"])
    assert result.exit_code == 0, result.output
    findings = {f["name"]: f for f in json.loads(result.stdout)["findings"]}
    assert (
        findings["sub"]["ok"] is None and "no application configured" in findings["sub"]["detail"]
    )
