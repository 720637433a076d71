"""The ``vcall`` entry point: each run builds only the command asked for, and it behaves the same."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from vcall.cli import COMMANDS

#: The console script, next to this interpreter (what a user runs).
VCALL = str(Path(sys.executable).with_name("vcall"))


def vcall(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VCALL, *args], capture_output=True, text=True, timeout=60)


def test_help_lists_every_command() -> None:
    result = vcall("--help")
    assert result.returncode == 0
    listed = result.stdout.split("Commands:")[1]
    assert [name for name in COMMANDS if f"  {name} " in listed] == list(COMMANDS)


@pytest.mark.parametrize(
    ("args", "usage"),
    [
        (["token", "--help"], "Usage: vcall token [OPTIONS] [user]"),
        (["sandbox", "reset", "--help"], "Usage: vcall sandbox reset [OPTIONS]"),
        (["tail-events", "--help"], "Usage: vcall tail-events [OPTIONS]"),
    ],
)
def test_a_command_alone_keeps_its_name_in_usage(args: list[str], usage: str) -> None:
    result = vcall(*args)
    assert result.returncode == 0
    assert result.stdout.startswith(usage)


def test_unknown_command_is_refused_with_a_suggestion() -> None:
    result = vcall("tokn")
    assert result.returncode == 2
    assert "No such command 'tokn'" in result.stderr and "token" in result.stderr


@pytest.mark.parametrize("name", COMMANDS)
def test_command_annotations_are_objects_not_strings(name: str) -> None:
    """typer reads every command's annotations on every run; as strings (postponed annotations)
    each would be compiled and evaluated twice. The command modules must leave them out."""
    module_name, attribute = COMMANDS[name]
    module = importlib.import_module(f"vcall.cli.{module_name}")
    command = getattr(module, attribute)
    functions = (
        [info.callback for info in command.registered_commands]
        if isinstance(command, typer.Typer)
        else [command]
    )
    for function in functions:
        annotations = inspect.get_annotations(inspect.unwrap(function))
        assert annotations, f"{name}: no annotations found"
        strings = [param for param, hint in annotations.items() if isinstance(hint, str)]
        assert not strings, (
            f"{name}: {strings} are strings: drop `from __future__ import annotations`"
        )


def test_token_through_the_console_script_is_whole_and_verifies(tmp_path: Path) -> None:
    """``vcall token`` ends without the interpreter's clean-up: what it printed into a pipe
    must still all arrive, and a refusal still be one line with its exit code."""
    import jwt

    from vcall.keygen import new_key_pair

    private, public = new_key_pair()
    key = tmp_path / "private.key"
    key.write_text(private)
    app_id = "11111111-2222-3333-4444-555555555555"
    result = vcall("token", "Alice", "--application-id", app_id, "--private-key", str(key))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    (line,) = result.stdout.splitlines()
    assert jwt.decode(line, public, algorithms=["RS256"])["application_id"] == app_id

    refused = vcall("token", "--application-id", app_id, "--private-key", str(tmp_path / "none"))
    assert refused.returncode == 2
    assert refused.stdout == "" and refused.stderr.startswith("Error: private key file")


def test_output_into_a_closed_pipe_is_exit_1_without_a_traceback(tmp_path: Path) -> None:
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: the first write fails with EPIPE
    try:
        result = subprocess.run(
            [VCALL, "--help"], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
