"""One readable, coloured line per webhook, like the tutorial's server log."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from vcall.events import StoredEvent
from vcall.statuses import status_style


class WebhookLog:
    """Prints webhook lines to a Rich console; ``quiet`` prints nothing."""

    def __init__(self, console: Console | None = None, *, quiet: bool = False) -> None:
        self.console = console or Console(highlight=False)
        self.quiet = quiet

    def answer(self, caller: str | None, path: str = "/voice/answer") -> None:
        """An answer (or fallback) request arrived."""
        if not self.quiet:
            label = "NCCO request" if path.endswith("answer") else "NCCO fallback request"
            self.console.print(f"[bold cyan]{label}:[/] caller {escape(caller or '(unknown)')}")

    def event(self, event: StoredEvent | None, status: str, duplicate: bool = False) -> None:
        """An event was stored (or recognised as a repeat delivery)."""
        if self.quiet:
            return
        if duplicate or event is None:
            self.console.print(f"[dim]EVENT {escape(status)} (repeat delivery, already stored)[/]")
            return
        style = status_style(event.status)
        line = (
            f"[bold]EVENT[/] [{style}]{escape(event.status)}[/] {escape(event.direction or '-')} "
            f"{escape(event.from_ or '?')} → {escape(event.to or '?')}"
        )
        if event.duration:
            line += f" [dim]{escape(event.duration)} s[/]"
        if event.price:
            line += f" [dim]price {escape(event.price)}[/]"
        self.console.print(line)

    def rejected(self, path: str, reason: str, status: int) -> None:
        """A request was refused and filed."""
        if not self.quiet:
            self.console.print(f"[red]REJECTED {status} {escape(path)}:[/] {escape(reason)}")

    def info(self, message: str) -> None:
        """A start-up or status line (printed even when quiet)."""
        self.console.print(message)
