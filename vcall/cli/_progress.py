"""A Rich spinner per provisioning step, then a tick and what the step did."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import typer
from rich.console import Console


class Steps:
    """The ``step`` callback for :mod:`vcall.provision`, drawing on stderr (quiet: nothing)."""

    def __init__(self, quiet: bool = False) -> None:
        self.console = Console(stderr=True, highlight=False)
        self.quiet = quiet
        self._status: Any = None

    @contextlib.contextmanager
    def __call__(self, title: str) -> Iterator[Callable[[str], None]]:
        outcome: list[str] = []
        if self.quiet:
            yield outcome.append
            return
        with self.console.status(f"{title}…") as status:
            self._status = status
            try:
                yield outcome.append
            finally:
                self._status = None
        self.console.print(f"[green]✓[/green] {title}: {outcome[-1] if outcome else 'done'}")

    def ask(self, question: str) -> bool:
        """A yes/no question, with the spinner paused while the user answers."""
        if self._status is not None:
            self._status.stop()
        try:
            return typer.confirm(question, err=True)
        finally:
            if self._status is not None:
                self._status.start()
