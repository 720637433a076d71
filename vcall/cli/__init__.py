"""The ``vcall`` command line: one module per command, each thin (parse, call, render).

A run imports and builds only the command on its command line (``vcall --help`` and anything
unknown get them all): typer inspects the signature of every command it is given, each time it
builds the app, and the command modules import what they need: both weigh on ``vcall token``'s
start-up (bench/startup.py).

The command modules (and this one, for the global ``--profile``) do without ``from __future__
import annotations``: typer reads their annotations on every run, and as strings each one would be compiled and evaluated twice
(``inspect.signature`` and ``get_type_hints``).
"""

import importlib
import os
import sys
from collections.abc import Iterable
from typing import Annotated

import typer

from vcall._logging import configure
from vcall.cli._common import handles_errors
from vcall.paths import PROFILE_VAR, checked_profile

#: Every command by name, in the order ``vcall --help`` lists them: the module (in this
#: package) and the function or sub-app in it.
COMMANDS = {
    "demo": ("demo", "demo"),
    "serve": ("serve", "serve"),
    "call": ("call", "call"),
    "token": ("token", "token"),
    "setup": ("setup", "setup"),
    "status": ("status", "status"),
    "teardown": ("teardown", "teardown"),
    "sandbox": ("sandbox", "app"),
    "tail-events": ("tail", "tail_events"),
    "replay": ("replay", "replay"),
}


@handles_errors
def _root(
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            envvar=PROFILE_VAR,
            metavar="NAME",
            help="Keep this setup apart from others: its state, key, events and sandbox live "
            "in .vcall/NAME/ [default: .vcall/ itself].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Runs before any command: the profile, for every ``Paths.default()`` of the run."""
    if profile:
        os.environ[PROFILE_VAR] = checked_profile(profile)


def build(names: Iterable[str] = COMMANDS) -> typer.Typer:
    """The ``vcall`` app with the commands ``names`` (all of them by default)."""
    names = list(names)
    cli = typer.Typer(
        name="vcall",
        help="Provision and run the Vonage 'answer a phone call in the browser' demo, "
        "live or against the embedded sandbox.",
        no_args_is_help=True,
        # Completion runs (the shell calls vcall with no command) and the root's options
        # build every command; a run of one command skips its machinery (start-up).
        add_completion=set(names) == set(COMMANDS),
        pretty_exceptions_show_locals=False,
        rich_markup_mode=None,
    )
    cli.callback()(_root)
    for name in names:
        module, attribute = COMMANDS[name]
        command = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        if isinstance(command, typer.Typer):
            cli.add_typer(command, name=name)
        else:
            cli.command(name)(command)
    return cli


def __getattr__(name: str) -> typer.Typer:
    """``vcall.cli.app``: the app with every command, built when first asked for (importing
    this module stays cheap for the entry point)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()["app"] = app = build()
    return app


#: Commands that leave nothing behind to close or flush but their own output: they end without
#: the interpreter's clean-up (see :func:`main`).
QUICK = frozenset({"token"})


def main() -> None:
    """Console-script entry point."""
    configure()  # before any command runs: no secret may reach a log line
    asked = _command_asked(sys.argv[1:])
    cli = build([asked]) if asked in COMMANDS else build()
    if asked in COMMANDS and asked not in QUICK:
        cli()
        return
    try:
        cli()
    except SystemExit as done:  # click ends every run with one, its code an int
        code = done.code if isinstance(done.code, int) else int(done.code is not None)
    else:
        code = 0
    _exit_now(code)


def _command_asked(args: list[str]) -> str:
    """The command on the command line, past the global ``--profile NAME``."""
    words = iter(args)
    for word in words:
        if word == "--profile":
            next(words, None)
        elif not word.startswith("--profile="):
            return word
    return ""


def _exit_now(code: int) -> None:
    """End the process with ``code`` once stdout and stderr are flushed, skipping the
    interpreter's clean-up, as mypy does after a check: freeing every module's objects is a
    visible share of ``vcall token``'s and ``vcall --help``'s run (bench/startup.py) and frees
    nothing the system would not. Only for runs that hold no file, thread or connection open (:data:`QUICK`,
    and the help and usage screens)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a closed pipe (``vcall token | true``): the output is moot
            code = code or 1
    os._exit(code)
