"""``vcall tail-events``: follow a vcall serve's call events as a live table or NDJSON."""

from collections.abc import AsyncIterable
from typing import TYPE_CHECKING, Annotated

import typer

from vcall.cli._common import handles_errors

# A command imports what it needs when it runs: `vcall --help` imports every command module
# and `vcall token` its own, and both start-ups are measured (bench/startup.py).

if TYPE_CHECKING:
    from vcall.feed import FeedEvent

UrlOpt = Annotated[
    str | None,
    typer.Option(help="Server to follow [default: the local vcall serve, found by itself]."),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(help="Its page key [default: the local server's].", envvar="VCALL_KEY"),
]
LastOpt = Annotated[
    int, typer.Option(min=0, max=1000, help="Start with the newest N stored events.")
]
SinceOpt = Annotated[
    int | None,
    typer.Option(min=0, help="Start after this cursor (an event's id) instead of --last."),
]
ConversationOpt = Annotated[
    str | None, typer.Option(help="Only this call (CON-…).", show_default=False)
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="One JSON object per line (NDJSON), for pipes.")
]


@handles_errors
def tail_events(
    url: UrlOpt = None,
    key: KeyOpt = None,
    last: LastOpt = 50,
    since: SinceOpt = None,
    conversation: ConversationOpt = None,
    json_lines: JsonOpt = False,
) -> None:
    """Watch call events live: one row per leg, updated in place, calls grouped.

    Reconnects by itself when the server restarts, with no event lost or shown twice.
    Stop with Ctrl-C.
    """
    from functools import partial

    from vcall.paths import Paths
    from vcall.remote.follow import follow, locator
    from vcall.serving import run

    locate = locator(url, key, Paths.default())
    feed = partial(follow, locate, last=last, since=since, conversation=conversation)
    if json_lines:
        run(_print_lines(feed(on_status=_StderrStatus())))
        return
    from vcall.tui import LiveTable

    async def show() -> None:
        with LiveTable() as view:
            async for item in feed(on_status=view.status):
                view.add(item)

    run(show())


class _StderrStatus:
    """Tells stderr, in one line each, when the stream is followed and when it is lost."""

    def __init__(self) -> None:
        self._following: str | None = None
        self._down = False

    def __call__(self, message: str | None, url: str) -> None:
        if message is None:
            if self._down or self._following != url:
                typer.echo(f"vcall tail-events: following {url} (Ctrl-C to stop)", err=True)
            self._following, self._down = url, False
        elif not self._down:  # one line per outage, however many retries it takes
            typer.echo(f"vcall tail-events: {message}", err=True)
            self._down = True


async def _print_lines(items: AsyncIterable["FeedEvent"]) -> None:
    """Write each event as one flushed line; a closed pipe (``| head``) ends quietly."""
    import os
    import sys

    try:
        async for item in items:
            sys.stdout.write(item.to_json() + "\n")
            sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
