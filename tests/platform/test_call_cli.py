"""``vcall call`` against a real vcall serve (sandbox mode) found through its runtime file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from threaded_server import serve_in_thread
from typer.testing import CliRunner

from vcall.cli import app
from vcall.remote import discovery
from vcall.web.app import create_app

runner = CliRunner()
FAST = ["--talk-for", "0", "--answer-after", "0", "--hold", "0.05"]


@pytest.fixture
def local_serve(sandbox, sandbox_options) -> Iterator[str]:
    def ready(url: str) -> None:
        discovery.announce(sandbox.paths, url, sandbox_options.page_key)
        sandbox.provision(url)

    with serve_in_thread(create_app(sandbox_options)) as url:
        ready(url)
        yield url


def test_call_with_a_stand_in_prints_the_summary(local_serve):
    result = runner.invoke(app, ["call", "--outcome", "answered", *FAST, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ended"] and summary["outcome"] == "answered"
    assert [leg["status"] for leg in summary["legs"]] == ["completed", "completed"]
    assert summary["from"] == "441234567890" and summary["to"] == "442038297050"


def test_call_table_shows_outcome_and_legs(local_serve):
    result = runner.invoke(
        app, ["call", "--outcome", "rejected", "--from", "+44 7700 900123", *FAST]
    )
    assert result.exit_code == 0, result.output
    assert "outcome      rejected" in result.stdout
    assert "CON-" in result.stdout and "Alice" in result.stdout
    assert "rejected" in result.stdout and "completed" in result.stdout


def test_cancelled_defaults_to_hanging_up_after_answer_after(local_serve):
    args = ["call", "--outcome", "cancelled", "--answer-after", "0.05", "--talk-for", "0"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "cancelled"


def test_no_wait_returns_at_once(local_serve):
    result = runner.invoke(
        app, ["call", "--outcome", "answered", "--hold", "5", "--json", "--no-wait"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ended"] is False and summary["conversation_uuid"].startswith("CON-")


def test_call_with_no_page_open_says_so(local_serve):
    result = runner.invoke(app, ["call", "--talk-for", "0", "--timeout", "0.05", "--json"])
    assert result.exit_code == 0, result.output
    assert "No page is signed in" in result.stderr
    assert json.loads(result.stdout)["outcome"] == "timeout"


def test_call_without_a_server_says_how_to_start_one(isolated):
    result = runner.invoke(app, ["call", "--outcome", "answered"])
    assert result.exit_code == 2
    assert "vcall serve" in result.stderr and "Traceback" not in result.output


def test_call_to_a_live_server_is_refused(sandbox, sandbox_options):
    live = replace(sandbox_options, sandbox=False)

    def ready(url: str) -> None:
        discovery.announce(sandbox.paths, url, live.page_key)

    with serve_in_thread(create_app(live)) as url:
        ready(url)
        result = runner.invoke(app, ["call"])
        assert result.exit_code == 2
        assert "live mode" in result.stderr and "real phones" in result.stderr


def test_a_call_whose_answer_url_is_dead_exits_1_with_the_reason(local_serve, sandbox):
    sandbox.provision("http://127.0.0.1:1")  # what a serve on another port used to face
    result = runner.invoke(app, ["call", "--outcome", "answered", *FAST, "--json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["outcome"] == "failed"  # the summary is still printed
    assert result.stderr.startswith("Error: the call failed: no NCCO for the call: ")


def test_an_event_not_delivered_exits_1(local_serve, sandbox):
    sandbox.provision(
        local_serve, event={"address": "http://127.0.0.1:1/voice/event", "http_method": "POST"}
    )
    result = runner.invoke(app, ["call", "--outcome", "answered", *FAST])
    assert result.exit_code == 1, result.output
    assert "outcome      answered" in result.stdout
    assert "Error: the call failed: event not delivered: " in result.stderr


def test_a_failed_outcome_asked_for_is_not_a_failure(local_serve):
    result = runner.invoke(app, ["call", "--outcome", "failed", *FAST, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outcome"] == "failed"
