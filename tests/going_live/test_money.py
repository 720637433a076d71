"""Money is safe: one number bought per setup, and only numbers vcall bought are released."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from vcall import state as state_file
from vcall.cli import app
from vcall.paths import Paths
from vcall.sandbox.account import DEFAULT_NUMBER, SandboxState

runner = CliRunner()


def vcall(*args: str, code: int = 0, input: str | None = None):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def owned() -> set[str]:
    return {n["msisdn"] for n in SandboxState.open(Paths.default()).numbers()}


@pytest.fixture
def bought(isolated) -> str:  # type: ignore[no-untyped-def]
    """A sandbox setup that bought a GB number (and also owns the default one)."""
    first = json.loads(vcall("setup", "--buy", "GB", "--yes", "--json").stdout)
    assert first["actions"]["number"] == "bought and linked"
    return str(first["number"])


def test_buying_twice_buys_once(bought):
    again = json.loads(vcall("setup", "--buy", "GB", "--yes", "--json").stdout)
    assert again["number"] == bought
    assert again["actions"]["number"] == "found (already linked: nothing bought)"
    assert owned() == {DEFAULT_NUMBER, bought}
    assert state_file.bought(Paths.default(), "sandbox") == [
        {"msisdn": bought, "country": "GB", "mode": "sandbox"}
    ]


def test_a_number_bought_before_a_teardown_is_reused_not_bought_again(bought):
    done = json.loads(vcall("teardown", "--json").stdout)["done"]
    (kept,) = [line for line in done if line.startswith(f"kept {bought}: bought by vcall")]
    assert kept.endswith("`vcall teardown --release` cancels it")
    assert bought in owned()
    again = json.loads(vcall("setup", "--buy", "GB", "--yes", "--json").stdout)
    assert again["number"] == bought
    assert again["actions"]["number"] == "linked (bought earlier by vcall: nothing bought)"
    assert owned() == {DEFAULT_NUMBER, bought}


def test_release_asks_first_and_cancels_only_what_vcall_bought(bought):
    vcall("teardown")
    kept = vcall("teardown", "--release", input="n\n").stdout
    assert f"kept {bought}: not confirmed" in kept and bought in owned()

    released = vcall("teardown", "--release", input="y\n")
    assert f"Release {bought}, which vcall bought?" in released.stderr
    assert f"released {bought}: cancelled" in released.stdout
    assert owned() == {DEFAULT_NUMBER}  # the sandbox's own number is never released
    assert not Paths.default().state.exists()


def test_release_with_the_setup_in_place_keeps_a_number_vcall_did_not_buy(isolated):
    vcall("setup")  # links the account's own number
    done = json.loads(vcall("teardown", "--release", "--yes", "--json").stdout)["done"]
    assert f"kept {DEFAULT_NUMBER}: vcall did not buy it, so it never releases it" in done
    assert owned() == {DEFAULT_NUMBER}


def test_release_in_one_go_with_yes(bought):
    done = json.loads(vcall("teardown", "--release", "--yes", "--json").stdout)["done"]
    assert f"released {bought}: cancelled, it no longer costs anything" in done
    assert owned() == {DEFAULT_NUMBER} and not Paths.default().state.exists()
