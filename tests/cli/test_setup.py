"""``vcall setup`` / ``vcall teardown``: the real SDK over loopback HTTPS to the sandbox."""

from __future__ import annotations

import json
import stat
import uuid

import pytest
import requests
from typer.testing import CliRunner

from vcall import keygen, tokens
from vcall import state as state_file
from vcall.paths import Paths
from vcall.sandbox.account import DEFAULT_NUMBER, SandboxState
from vcall.sandbox.rest.server import in_background

runner = CliRunner()


def vcall(*args: str, code: int = 0, input: str | None = None):  # type: ignore[no-untyped-def]
    from vcall.cli import app

    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def setup_json(*args: str) -> dict:
    return json.loads(vcall("setup", "--json", *args).stdout)


@pytest.fixture
def paths(isolated) -> Paths:  # type: ignore[no-untyped-def]
    return Paths.default()


@pytest.fixture
def sandbox(paths: Paths) -> SandboxState:
    return SandboxState.open(paths)


def test_setup_three_times_makes_one_of_each_and_then_only_reads(paths, sandbox):
    summary = vcall("setup").stdout
    assert "+44 20 3829 7050" in summary and "vcall serve" in summary
    assert "/voice/answer" in summary
    first = state_file.load(paths)
    assert first["mode"] == "sandbox"
    writes_after_first = len(sandbox.request_log())

    # The same number written as a person would is the same number: nothing to change.
    for extra in ([], ["--number", "+44 (0)20 3829 7050"]):
        again = setup_json(*extra)
        assert again["actions"] == {"application": "found", "number": "found", "user": "found"}
        assert again["application_id"] == first["application_id"]

    assert len(sandbox.applications()) == 1
    assert [u["id"] for u in sandbox.users(first["application_id"])] == [first["user_id"]]
    assert sandbox.application_for_number(DEFAULT_NUMBER)["id"] == first["application_id"]
    later = sandbox.request_log()[writes_after_first:]
    assert later and {e["method"] for e in later} == {"GET"}
    # The SDK went over HTTPS to the in-process sandbox, through all three APIs.
    assert {e["path"].split("/")[1] for e in later} == {"v2", "account", "v1"}

    account = sandbox.account
    assert first["api_key"] == account.api_key
    assert first["signature_secret"] == account.signature_secret
    assert first["answer_url"] == "http://127.0.0.1:3000/voice/answer"
    assert first["event_url"] == "http://127.0.0.1:3000/voice/event"
    assert first["private_key"] == str(paths.private_key)
    hooks = sandbox.application(first["application_id"])["capabilities"]["voice"]
    assert hooks["signed_callbacks"] is True
    assert hooks["webhooks"]["fallback_answer_url"]["address"].endswith("/voice/fallback")

    for path in (
        paths.state,
        paths.private_key,
        paths.sandbox / "db.json",
        paths.sandbox / "ca.pem",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in (paths.home, paths.sandbox):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_a_new_public_url_updates_the_webhooks(sandbox):
    first = setup_json()
    moved = setup_json("--public-url", "https://demo.example.org/")
    assert moved["actions"]["application"] == "updated webhooks"
    hooks = sandbox.application(first["application_id"])["capabilities"]["voice"]["webhooks"]
    assert hooks["answer_url"]["address"] == "https://demo.example.org/voice/answer"
    assert hooks["event_url"]["address"] == "https://demo.example.org/voice/event"
    assert [e["method"] for e in sandbox.request_log()].count("PUT") == 1
    # The URL is remembered: the next run changes nothing.
    assert setup_json()["actions"]["application"] == "found"


def test_wrong_secret_is_one_clear_line(monkeypatch, sandbox):
    monkeypatch.setenv("VONAGE_API_KEY", sandbox.account.api_key)
    monkeypatch.setenv("VONAGE_API_SECRET", "wrong-secret")
    result = vcall("setup", "--sandbox", code=1)
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "check VONAGE_API_KEY / VONAGE_API_SECRET" in result.stderr
    assert "Traceback" not in result.output
    assert not Paths.default().state.exists()


def test_a_number_linked_elsewhere_needs_force(sandbox):
    with sandbox.transaction() as doc:
        doc["applications"]["other"] = {"id": "other", "name": "someone else's"}
        doc["numbers"][DEFAULT_NUMBER]["app_id"] = "other"
    result = vcall("setup", "--number", DEFAULT_NUMBER, code=2)
    assert "linked to another application (other)" in result.stderr
    assert "--force" in result.stderr
    result = vcall("setup", code=2)  # no free number to pick either
    assert f"{DEFAULT_NUMBER} (other)" in result.stderr and "--force" in result.stderr
    assert sandbox.application_for_number(DEFAULT_NUMBER)["id"] == "other"

    moved = setup_json("--force")
    assert moved["actions"]["number"] == "moved"
    assert sandbox.application_for_number(DEFAULT_NUMBER)["id"] == moved["application_id"]


def test_the_key_is_kept_when_a_later_step_fails(paths, sandbox):
    result = vcall("setup", "--number", "+1 201-555-0199", code=1)
    assert "is not on this account" in result.stderr and DEFAULT_NUMBER in result.stderr
    (app,) = sandbox.applications()
    assert tokens.public_key_pem(paths.private_key.read_text()).split() == (
        app["keys"]["public_key"].split()
    )
    # The rerun finds the application by name and uses the saved key: still one application.
    assert setup_json()["application_id"] == app["id"]
    assert len(sandbox.applications()) == 1


def test_a_malformed_number_is_refused_before_anything_happens(paths):
    result = vcall("setup", "--number", "12", code=2)
    assert "not a phone number" in result.stderr
    assert not paths.home.exists()


def test_a_lost_key_is_replaced_without_a_new_application(paths, sandbox):
    first = setup_json()
    paths.private_key.unlink()
    again = setup_json()
    assert again["application_id"] == first["application_id"]
    assert again["actions"]["application"] == "updated key"
    assert tokens.public_key_pem(paths.private_key.read_text()).split() == (
        sandbox.application(first["application_id"])["keys"]["public_key"].split()
    )


def test_an_application_found_only_by_name_keeps_its_key_unless_forced(paths, sandbox):
    first = setup_json()
    paths.state.unlink()
    paths.private_key.unlink()  # another checkout, say: same account, same name, no key
    result = vcall("setup", code=2)
    assert f"named 'vcall' exists ({first['application_id']})" in result.stderr
    assert "--force" in result.stderr and "--name" in result.stderr
    assert len(sandbox.applications()) == 1 and not paths.private_key.exists()
    forced = setup_json("--force")
    assert forced["application_id"] == first["application_id"]
    assert forced["actions"]["application"] == "updated key"


def test_buy_a_number(sandbox):
    result = setup_json("--buy", "GB", "--yes")
    assert result["number"] != DEFAULT_NUMBER
    assert sandbox.number(result["number"])["app_id"] == result["application_id"]
    # Once that number is given back, the next setup has to buy again: it asks first.
    vcall("teardown", "--release", "--yes")
    refused = vcall("setup", "--buy", "GB", code=2, input="n\n")
    assert "no number bought" in refused.stderr


def test_the_users_api_accepts_vcall_token_and_refuses_another_key(sandbox):
    setup_json()
    token = vcall("token", "Alice").stdout.strip()
    forged = tokens.mint(
        state_file.load(Paths.default())["application_id"], keygen.new_key_pair()[0], "Alice"
    )
    with in_background(sandbox) as endpoint:
        url = f"{endpoint.url}/v1/users"
        verify = str(endpoint.ca_cert)
        ok = requests.get(url, headers={"Authorization": f"Bearer {token}"}, verify=verify)
        bad = requests.get(url, headers={"Authorization": f"Bearer {forged}"}, verify=verify)
    assert ok.status_code == 200
    assert [u["name"] for u in ok.json()["_embedded"]["users"]] == ["Alice"]
    assert bad.status_code == 401
    assert bad.json()["code"] == "system:error:invalid-token"


def test_teardown_leaves_nothing_and_can_run_twice(paths, sandbox):
    first = setup_json()
    paths.events_db.write_bytes(b"")  # stands in for vcall serve's database
    done = json.loads(vcall("teardown", "--json").stdout)["done"]
    assert f"deleted application {first['application_id']}" in done
    assert sandbox.applications() == []
    assert sandbox.users(first["application_id"]) == []
    assert "app_id" not in sandbox.number(DEFAULT_NUMBER)
    assert not paths.state.exists() and not paths.private_key.exists()
    assert paths.events_db.exists()

    assert "Nothing to tear down." in vcall("teardown").stdout
    vcall("teardown", "--purge")
    assert not paths.events_db.exists()


def test_live_needs_credentials_and_a_public_url(monkeypatch, paths):
    result = vcall("setup", "--live", code=2)
    assert "VONAGE_API_KEY" in result.stderr
    # The sandbox account saved by an earlier setup is never sent to Vonage.
    state_file.save(paths, {"mode": "sandbox", "api_key": "abcd1234", "api_secret": "x"})
    result = vcall("setup", "--live", code=2)
    assert "no Vonage credentials" in result.stderr
    monkeypatch.setenv("VONAGE_API_KEY", "k" + uuid.uuid4().hex[:7])
    monkeypatch.setenv("VONAGE_API_SECRET", "s")
    result = vcall("setup", code=2)  # an API key in the environment means live
    assert "--public-url" in result.stderr
    result = vcall("setup", "--public-url", "http://127.0.0.1:3000", code=2)
    assert "cannot reach" in result.stderr


def test_an_api_key_in_dotenv_means_live(isolated):
    (isolated / ".env").write_text("VONAGE_API_KEY=abcd1234\nVONAGE_API_SECRET=s3cret\n")
    result = vcall("setup", code=2)
    assert "live setup needs --public-url" in result.stderr
