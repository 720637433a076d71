"""Profiles: two setups side by side, each with its own application, sandbox and events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import apsw
import pytest
from typer.testing import CliRunner

from vcall.cli import _command_asked, app
from vcall.paths import Paths

runner = CliRunner()
FAST = ["--outcome", "answered", "--talk-for", "0", "--answer-after", "0", "--hold", "0.05"]


def vcall(*args: str, code: int = 0):  # type: ignore[no-untyped-def]
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def conversations(db: Path) -> set[str]:
    if not db.exists():
        return set()
    with apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY) as conn:
        return {row[0] for row in conn.execute("SELECT DISTINCT conversation_uuid FROM events")}


@pytest.fixture
def two_serves(isolated):  # type: ignore[no-untyped-def]
    """``vcall --profile work serve`` and ``VCALL_PROFILE=home vcall serve``, side by side."""
    started = []
    home = Path(os.environ["VCALL_HOME"])
    for profile in ("work", "home"):
        env = {**os.environ, "VCALL_PROFILE": profile} if profile == "home" else os.environ
        flag = ["--profile", profile] if profile == "work" else []
        command = [sys.executable, "-m", "vcall", *flag, "serve", "--port", "0", "--quiet"]
        started.append(
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        )
    try:
        deadline = time.monotonic() + 30
        for profile, proc in zip(("work", "home"), started, strict=True):
            while not (home / profile / "serve.json").exists():
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "vcall serve did not start"
                time.sleep(0.05)  # polling under a deadline
        yield home
    finally:
        for proc in started:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)


def test_two_profiles_keep_their_own_application_and_events(two_serves):
    home = two_serves
    work = json.loads(vcall("--profile", "work", "setup", "--json").stdout)
    other = json.loads(vcall("--profile", "home", "setup", "--json").stdout)
    assert work["application_id"] != other["application_id"]
    assert work["private_key"] == str(home / "work" / "private.key")
    assert (home / "home" / "sandbox" / "db.json").exists()  # a sandbox account of its own

    placed = json.loads(vcall("--profile", "work", "call", *FAST, "--json").stdout)
    assert placed["outcome"] == "answered"
    assert conversations(home / "work" / "events.db") == {placed["conversation_uuid"]}
    assert conversations(home / "home" / "events.db") == set()

    other_call = json.loads(vcall("--profile", "home", "call", *FAST, "--json").stdout)
    assert conversations(home / "home" / "events.db") == {other_call["conversation_uuid"]}
    assert conversations(home / "work" / "events.db") == {placed["conversation_uuid"]}
    # No profile: today's layout, untouched by either.
    assert not (home / "state.json").exists() and not (home / "events.db").exists()


def test_no_profile_is_todays_layout(isolated):
    assert Paths.default().home == isolated / ".vcall"
    vcall("--profile", "default", "setup")
    assert (isolated / ".vcall" / "state.json").exists()


def test_a_bad_profile_name_is_one_line(isolated):
    result = vcall("--profile", "../x", "status", code=2)
    assert result.stderr.startswith("Error: profile '../x' is not a usable name")
    assert len(result.stderr.splitlines()) == 1


def test_the_command_is_found_past_the_profile():
    assert _command_asked(["--profile", "work", "token", "Alice"]) == "token"
    assert _command_asked(["--profile=work", "serve"]) == "serve"
    assert _command_asked(["--help"]) == "--help" and _command_asked([]) == ""


def test_shell_completion_is_on(isolated):
    vcall_bin = [str(Path(sys.executable).parent / "vcall")]  # the installed command
    shown = subprocess.run(
        [*vcall_bin, "--show-completion", "bash"], capture_output=True, text=True
    )
    assert shown.returncode == 0 and "_vcall_completion()" in shown.stdout
    env = {**os.environ, "_VCALL_COMPLETE": "complete_bash", "COMP_CWORD": "2"}
    for words, expected in (("vcall st", "status"), ("vcall serve --tu", "--tunnel")):
        cword = str(len(words.split()) - 1)
        done = subprocess.run(
            vcall_bin, env={**env, "COMP_WORDS": words, "COMP_CWORD": cword},
            capture_output=True, text=True,
        )  # fmt: skip
        assert done.stdout.split() == [expected], done.stderr
