"""``vcall status``: ✓ for a healthy setup, and each broken link named with its fix."""

from __future__ import annotations

import json

import pytest
from threaded_server import serve_in_thread
from typer.testing import CliRunner

from vcall._files import write_private
from vcall.cli import app
from vcall.keygen import new_key_pair
from vcall.paths import Paths
from vcall.provision import run_setup, run_teardown
from vcall.remote import discovery
from vcall.sandbox.account import DEFAULT_NUMBER, SandboxState
from vcall.web.app import ServeOptions, create_app

runner = CliRunner()


def status(code: int) -> dict:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def verdicts(document: dict) -> dict[str, bool | None]:
    return {check["name"]: check["ok"] for check in document["checks"]}


def failed(document: dict) -> dict[str, dict]:
    return {check["name"]: check for check in document["checks"] if check["ok"] is False}


@pytest.fixture
def serving(sandbox_options):  # type: ignore[no-untyped-def]
    """``vcall setup`` and a sandbox ``vcall serve`` it points at, announced as serve does."""
    paths, options = Paths.default(), sandbox_options
    with serve_in_thread(create_app(options)) as url:
        run_setup(mode="sandbox", public_url=url)
        discovery.announce(paths, url, options.page_key, instance=options.instance)
        yield url


def test_a_healthy_setup_is_all_ticks_and_exit_0(serving):
    document = status(0)
    assert document["ok"] is True and document["mode"] == "sandbox"
    assert verdicts(document) == {
        "credentials": True,
        "application": True,
        "private key": True,
        "webhooks": True,
        "public URL": True,
        "number": True,
        "user": True,
        "vcall serve": True,
        "signed callbacks": True,
        "Client SDK": True,
    }
    checks = {c["name"]: c for c in document["checks"]}
    assert checks["public URL"]["detail"] == f"{serving} reaches this vcall serve"
    assert "valid NCCO (talk, connect)" in checks["vcall serve"]["detail"]
    assert all(set(c) == {"name", "ok", "detail", "fix"} for c in document["checks"])

    text = runner.invoke(app, ["status"])
    assert text.exit_code == 0 and text.stdout.startswith("vcall status (sandbox)\n")
    assert "✓ credentials" in text.stdout and "✗" not in text.stdout


def test_a_wrong_key_is_named(serving):
    paths = Paths.default()
    other, _ = new_key_pair()
    write_private(paths.private_key, other)
    problems = failed(status(1))
    assert set(problems) == {"private key"}
    assert problems["private key"]["fix"].startswith("vcall setup")
    assert verdicts(status(1))["user"] is None  # cannot be asked without the key


def test_an_unlinked_number_is_named(serving):
    with SandboxState.open(Paths.default()).transaction() as doc:
        doc["numbers"][DEFAULT_NUMBER].pop("app_id")
    problems = failed(status(1))
    assert set(problems) == {"number"}
    assert problems["number"]["detail"] == f"{DEFAULT_NUMBER} is not linked to any application"
    assert problems["number"]["fix"] == "vcall setup"


def test_webhooks_elsewhere_and_a_stopped_server_are_named(isolated):
    paths = Paths.default()
    with serve_in_thread(create_app(ServeOptions(store=paths.events_db, quiet=True))) as url:
        run_setup(mode="sandbox", public_url="https://old-tunnel.example.com")
        discovery.announce(paths, url, "k" * 32, instance="not-this-one")
        problems = failed(status(1))
        assert problems["webhooks"]["detail"] == (
            f"point at https://old-tunnel.example.com, not at {url}"
        )
        assert "public URL" in problems  # the old tunnel leads nowhere
    problems = failed(status(1))  # the server has stopped; its serve.json is left behind
    assert "vcall serve" in problems and "unreachable" in problems["vcall serve"]["detail"]
    assert problems["vcall serve"]["fix"] == "vcall serve"


def test_after_teardown_nothing_is_set_up(serving):
    run_teardown()
    problems = failed(status(1))
    assert problems["application"]["detail"] == "nothing set up (sandbox)"
    assert problems["application"]["fix"] == "vcall setup"
    assert verdicts(status(1))["number"] is None
