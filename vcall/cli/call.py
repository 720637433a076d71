"""``vcall call``: place a simulated phone call on the local sandbox (like ``stripe trigger``)."""

from typing import Annotated, Any

import typer

from vcall.cli._common import handles_errors
from vcall.sandbox.voice.request import CONNECT_LIMIT, DEFAULT_CALLER, Outcome

# A command imports what it needs when it runs: `vcall --help` imports every command module
# and `vcall token` its own, and both start-ups are measured (bench/startup.py).


@handles_errors
def call(
    from_: Annotated[str, typer.Option("--from", help="The caller's number.")] = DEFAULT_CALLER,
    to: Annotated[
        str | None,
        typer.Option(
            help="The number called [default: the one vcall setup linked].", show_default=False
        ),
    ] = None,
    outcome: Annotated[
        Outcome | None,
        typer.Option(
            help="Let a headless stand-in for the user play this outcome instead of ringing "
            "the page(s) for a person to answer.",
            show_default=False,
        ),
    ] = None,
    talk_for: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=CONNECT_LIMIT,
            help="Seconds each talk action takes [default: in proportion to its text].",
        ),
    ] = None,
    answer_after: Annotated[
        float,
        typer.Option(
            min=0, max=CONNECT_LIMIT, help="Seconds the stand-in lets it ring before it acts."
        ),
    ] = 2.0,
    hold: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=CONNECT_LIMIT,
            help="Seconds an answered call lasts before it is hung up (by the stand-in; by the "
            "caller when a page answered) [default: stand-in 5; page: until it hangs up].",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=CONNECT_LIMIT,
            help="Seconds to ring before giving up (timeout) [default: the NCCO's, 60].",
            show_default=False,
        ),
    ] = None,
    cancel_after: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=CONNECT_LIMIT,
            help="The caller hangs up if nobody answered within this many seconds (cancelled) "
            "[default: --answer-after with --outcome cancelled].",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the call's summary as JSON.")
    ] = False,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="Return once the call is placed; don't wait for its end."),
    ] = False,
) -> None:
    """Call the sandbox number: the running vcall serve plays the platform's part.

    Without --outcome the call rings the page (open the URL vcall serve printed) and waits
    for a person; with --outcome a headless stand-in plays it, for scripts and CI. Prints
    the conversation id, the outcome and each leg's final status and duration; exits 1 with
    the reason when the call failed or a webhook was not delivered.
    """
    import asyncio
    import json

    from vcall._errors import RemoteError
    from vcall.paths import Paths
    from vcall.remote import discovery
    from vcall.remote.calls import call_failure, place_call

    if outcome is Outcome.cancelled and cancel_after is None:
        cancel_after = answer_after
    body: dict[str, Any] = {
        "from": from_,
        "to": to,
        "outcome": outcome.value if outcome else None,
        "talk_for": talk_for,
        "answer_after": answer_after,
        "hold": hold,
        "ring_timeout": timeout,
        "cancel_after": cancel_after,
    }
    server = discovery.find(Paths.default())

    def placed(summary: dict[str, Any]) -> None:
        if not json_out:
            who = f"a stand-in playing '{outcome.value}'" if outcome else "the page"
            typer.echo(
                f"Calling {summary['to']} from {summary['from']}: {who} takes it …", err=True
            )
        if outcome is None and not summary["pages"]:
            typer.secho(
                "No page is signed in to take it: open the page URL vcall serve printed, "
                "or use --outcome to let a stand-in answer.",
                err=True,
                fg=typer.colors.YELLOW,
            )

    summary = asyncio.run(
        place_call(
            server,
            {k: v for k, v in body.items() if v is not None},
            wait=not no_wait,
            on_placed=placed,
        )
    )
    if json_out:
        typer.echo(json.dumps(summary, indent=2))
    else:
        render_summary(summary)
    why = call_failure(summary, outcome.value if outcome else None)
    if why is not None:
        raise RemoteError(f"the call failed: {why}")


def render_summary(summary: dict[str, Any]) -> None:
    """The call's outcome and a table of its legs (also used by `vcall demo`)."""
    from rich.console import Console
    from rich.table import Table

    from vcall.statuses import status_style

    console = Console(highlight=False)
    console.print(f"conversation [bold]{summary['conversation_uuid']}[/]")
    if not summary["ended"]:
        console.print("placed; not waiting for it to end (--no-wait)")
        return
    outcome = summary["outcome"]
    console.print(f"from {summary['from']} to {summary['to']}")
    console.print(f"outcome      [{status_style(outcome)}]{outcome}[/]")
    table = Table("direction", "to", "status", "duration")
    table.add_column("leg", overflow="fold")  # the full id, to match the events
    for leg in summary["legs"]:
        style = status_style(leg["status"])
        table.add_row(
            leg["direction"],
            leg["to"],
            f"[{style}]{leg['status']}[/]",
            f"{leg['duration']} s",
            leg["uuid"],
        )
    console.print(table)
    for error in summary["errors"]:
        console.print(f"[red]error:[/] {error}")
