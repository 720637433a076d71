"""The ``vcall`` command line: one module per command, each thin (parse, call, render).

A run imports and builds only the command on its command line (``vcall --help`` and anything
unknown get them all): typer inspects the signature of every command it is given, each time it
builds the app, and the command modules import what they need: both weigh on ``vcall token``'s
start-up (bench/startup.py).

The command modules do without ``from __future__ import annotations``: typer reads their
annotations on every run, and as strings each one would be compiled and evaluated twice
(``inspect.signature`` and ``get_type_hints``).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable

import typer

from vcall._logging import configure

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


def _root() -> None:
    """Runs before any command: nothing to do (it keeps a one-command app a group)."""


def build(names: Iterable[str] = COMMANDS) -> typer.Typer:
    """The ``vcall`` app with the commands ``names`` (all of them by default)."""
    cli = typer.Typer(
        name="vcall",
        help="Provision and run the Vonage 'answer a phone call in the browser' demo, "
        "live or against the embedded sandbox.",
        no_args_is_help=True,
        add_completion=False,
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
    asked = sys.argv[1] if len(sys.argv) > 1 else ""
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
