"""``vcall call`` against a real vcall serve (sandbox mode) found through its runtime file."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from vcall.cli import app
from vcall.remote import discovery
from vcall.serving import running
from vcall.web.app import ServeOptions, create_app

runner = CliRunner()
FAST = ["--talk-for", "0", "--answer-after", "0", "--hold", "0.05"]


def serve_in_thread(options: ServeOptions, on_ready) -> Iterator[str]:
    """Run the server on its own loop in a thread (the CLI runs its own asyncio.run).

    ``asyncio.run`` ends the loop properly: a bare ``loop.close()`` right after the server
    stops leaks the transports it has just closed (an unraisable ResourceWarning later).
    """
    stop = asyncio.Event()
    started = threading.Event()
    box: dict = {}

    async def main() -> None:
        box["loop"] = asyncio.get_running_loop()
        async with running(create_app(options), "127.0.0.1", 0) as url:
            on_ready(url)
            box["url"] = url
            started.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10), "server did not start"
    try:
        yield box["url"]
    finally:
        box["loop"].call_soon_threadsafe(stop.set)
        thread.join(10)
        assert not thread.is_alive(), "server did not stop"


@pytest.fixture
def local_serve(sandbox, sandbox_options) -> Iterator[str]:
    def ready(url: str) -> None:
        discovery.announce(sandbox.paths, url, sandbox_options.page_key)
        sandbox.provision(url)

    yield from serve_in_thread(sandbox_options, ready)


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

    for _ in serve_in_thread(live, ready):
        result = runner.invoke(app, ["call"])
        assert result.exit_code == 2
        assert "live mode" in result.stderr and "real phones" in result.stderr
