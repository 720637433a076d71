"""``vcall setup``: the application, number link and user, through the real SDK."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from vcall.cli._common import handles_errors
from vcall.ncco import DEFAULT_USER

# A command imports what it needs when it runs: `vcall --help` imports every command module
# and `vcall token` its own, and both start-ups are measured (bench/startup.py).

if TYPE_CHECKING:
    from vcall.provision import SetupResult


@handles_errors
def setup(
    live: Annotated[
        bool | None,
        typer.Option(
            "--live/--sandbox",
            help="Talk to Vonage, or to the embedded sandbox "
            "[default: live when VONAGE_API_KEY is set, else sandbox].",
            show_default=False,
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL Vonage sends webhooks to (/voice/answer, /voice/event, "
            "/voice/fallback) [default: the last one; sandbox: the local vcall serve].",
        ),
    ] = None,
    number: Annotated[
        str | None,
        typer.Option(help="Number to link, e.g. '+44 20 3829 7050' [default: a free one]."),
    ] = None,
    buy: Annotated[
        str | None,
        typer.Option(
            metavar="COUNTRY", help="Buy a voice number in this country (e.g. GB) and link it."
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Buy without asking.")] = False,
    user: Annotated[str, typer.Option(help="The in-app user who answers calls.")] = DEFAULT_USER,
    name: Annotated[str, typer.Option(help="Application name (found by name if not saved).")] = (
        "vcall"
    ),
    force: Annotated[
        bool,
        typer.Option("--force", help="Take the number over even if another application has it."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create (or find) the voice application, link the number, create the user Alice.

    Safe to run again: it only changes what differs. The private key goes to
    .vcall/private.key and the result to .vcall/state.json (both 0600).
    """
    import json

    from vcall import phone
    from vcall.cli._progress import Steps
    from vcall.provision import run_setup

    if number is not None and buy is not None:
        raise typer.BadParameter("give --number or --buy, not both")
    steps = Steps(quiet=as_json)

    def confirm(offer: dict[str, Any]) -> bool:
        return yes or steps.ask(
            f"Buy {phone.pretty(offer['msisdn'])} ({offer.get('country')}, {offer.get('type')}) "
            f"for €{offer.get('cost', '?')} a month?"
        )

    result = run_setup(
        mode=None if live is None else ("live" if live else "sandbox"),
        public_url=public_url,
        step=steps,
        confirm=confirm,
        name=name,
        user=user,
        number=phone.normalise(number) if number else None,
        buy_country=buy,
        force=force,
    )
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2))
    else:
        _summary(result)


def _summary(result: "SetupResult") -> None:
    from rich.console import Console
    from rich.table import Table

    from vcall import phone

    table = Table(title=f"vcall setup ({result.mode})", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("application", f"{result.application_name}  {result.application_id}")
    table.add_row("private key", result.private_key)
    table.add_row("number", f"{phone.pretty(result.number)}  ({result.number})")
    table.add_row("user", f"{result.user_name}  {result.user_id}")
    table.add_row("answer webhook", f"GET {result.answer_url}")
    table.add_row("event webhook", f"POST {result.event_url}")
    table.add_row("fallback webhook", f"GET {result.fallback_url}")
    table.add_row("next", "vcall serve   (then call the number), or: vcall demo")
    Console(highlight=False).print(table)
