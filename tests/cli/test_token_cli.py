"""``vcall token`` and the CLI's lazy imports, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from vcall.cli import app

runner = CliRunner()
APP_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def keypair(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "private.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public


def test_token_prints_only_the_token(keypair):
    path, public = keypair
    result = runner.invoke(
        app,
        ["token", "Alice", "--application-id", APP_ID, "--private-key", str(path), "--ttl", "90m"],
    )
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    claims = jwt.decode(line, public, algorithms=["RS256"])
    assert claims["sub"] == "Alice" and claims["exp"] - claims["iat"] == 5400


def test_token_from_environment_pem_text(keypair, monkeypatch):
    path, public = keypair
    monkeypatch.setenv("VONAGE_APPLICATION_ID", APP_ID)
    monkeypatch.setenv("VONAGE_PRIVATE_KEY", path.read_text())
    result = runner.invoke(app, ["token", "Bob", "--acl-preset", "minimal"])
    assert result.exit_code == 0, result.output
    claims = jwt.decode(result.stdout.strip(), public, algorithms=["RS256"])
    assert claims["sub"] == "Bob" and claims["application_id"] == APP_ID
    assert "/*/media/**" not in claims["acl"]["paths"]


def test_token_from_state_file(keypair, isolated):
    path, public = keypair
    home = isolated / ".vcall"
    home.mkdir()
    (home / "state.json").write_text(
        json.dumps({"application_id": APP_ID, "private_key": str(path)})
    )
    result = runner.invoke(app, ["token"])
    assert result.exit_code == 0, result.output
    assert jwt.decode(result.stdout.strip(), public, algorithms=["RS256"])["sub"] == "Alice"


def test_custom_acl(keypair):
    path, public = keypair
    acl = '{"paths": {"/*/sessions/**": {}}}'
    result = runner.invoke(
        app, ["token", "--application-id", APP_ID, "--private-key", str(path), "--acl", acl]
    )
    assert result.exit_code == 0, result.output
    assert jwt.decode(result.stdout.strip(), public, algorithms=["RS256"])["acl"] == json.loads(acl)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ttl", "25h"], "more than 24 h"),
        (["--ttl", "soon"], "invalid TTL"),
        (["--acl", "{"], "not valid JSON"),
        (["--private-key", "/no/such/key"], "not found"),
    ],
)
def test_token_refusals_are_one_line_exit_2(keypair, args, message):
    path, _ = keypair
    base = ["token", "--application-id", APP_ID]
    if "--private-key" not in args:
        base += ["--private-key", str(path)]
    result = runner.invoke(app, base + args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_token_without_setup_explains(tmp_path):
    result = runner.invoke(app, ["token"])
    assert result.exit_code == 2
    assert "vcall setup" in result.stderr and "Traceback" not in result.output


def test_bad_key_text_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "bad.key"
    bad.write_text("this is not a key")
    result = runner.invoke(app, ["token", "--application-id", APP_ID, "--private-key", str(bad)])
    assert result.exit_code == 2 and "not a usable" in result.stderr


def test_decode_prints_claims_table(keypair):
    path, _ = keypair
    minted = runner.invoke(
        app, ["token", "Carol", "--application-id", APP_ID, "--private-key", str(path)]
    )
    result = runner.invoke(
        app, ["token", "--decode", "-", "--private-key", str(path)], input=minted.stdout
    )
    assert result.exit_code == 0, result.output
    assert (
        "Carol" in result.stdout
        and APP_ID in result.stdout
        and "valid for the configured key" in result.stdout
    )


def test_help_does_not_import_vonage_or_aiohttp():
    code = (
        "import sys\n"
        "from vcall.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'vonage', 'vonage_jwt', 'vonage_voice', 'aiohttp'})\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out
    assert "serve" in out and "token" in out


def test_python_dash_m_runs():
    result = subprocess.run(
        [sys.executable, "-m", "vcall", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "Usage" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"), [("{oops", "not valid JSON"), ("[1]", "JSON object")]
)
def test_corrupt_state_file_is_one_clear_line(isolated, content, message):
    home = isolated / ".vcall"
    home.mkdir()
    (home / "state.json").write_text(content)
    result = runner.invoke(app, ["token"])
    assert result.exit_code == 2
    assert message in result.stderr and "vcall setup" in result.stderr
    assert "Traceback" not in result.output
