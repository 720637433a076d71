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
