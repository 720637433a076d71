"""What every command shares: turning expected errors into one line and an exit code, and
printing checks (``vcall status``, ``vcall token --decode``)."""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer

from vcall._errors import VcallError

if TYPE_CHECKING:
    from vcall.checks import Check

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``Error: message`` to stderr; return the Exit to raise."""
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def print_checks(checks: Iterable[Check]) -> None:
    """One line per check, ✓ ✗ or · (not checked), aligned, each failure's fix below it."""
    checks = list(checks)
    marks = {True: ("✓", typer.colors.GREEN), False: ("✗", typer.colors.RED), None: ("·", None)}
    width = max((len(check.name) for check in checks), default=0)
    for check in checks:
        mark, colour = marks[check.ok]
        typer.echo(f"{typer.style(mark, fg=colour)} {check.name:<{width}}  {check.detail}")
        if check.ok is False and check.fix:
            typer.echo(f"  {'':<{width}}  fix: {check.fix}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command; a :class:`VcallError` becomes one line on stderr and its exit code.

    SIGTERM (``kill``, ``docker stop``) stops it as Ctrl-C does, so its clean-up runs (the
    live table gives the terminal its cursor back; an event loop is stopped by
    :func:`vcall.serving.run`, which takes the signal while it runs).
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _interrupt) if in_main else None
        try:
            return command(*args, **kwargs)
        except VcallError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise typer.Exit(0) from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper
