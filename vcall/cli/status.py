"""``vcall status``: is everything provisioned, and does the whole chain work?"""

from typing import Annotated

import typer

from vcall.cli._common import handles_errors, print_checks


@handles_errors
def status(
    live: Annotated[
        bool | None,
        typer.Option(
            "--live/--sandbox",
            help="Check the live account or the sandbox [default: the mode vcall setup used].",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check each link, one line each (✓ or ✗ with the command that fixes it).

    Credentials, application, private key, webhooks and the public URL they lead to, number,
    user, the running vcall serve and its NCCO, signed callbacks, the Client SDK bundle.
    Exits 1 if any check fails. A vcall serve that was killed before it put the webhooks
    back is found here, and they are put back.
    """
    import json

    from vcall.checks import passed
    from vcall.status import as_json as document
    from vcall.status import run_status

    mode, checks = run_status(None if live is None else ("live" if live else "sandbox"))
    if as_json:
        typer.echo(json.dumps(document(mode, checks), indent=2))
    else:
        typer.echo(f"vcall status ({mode})")
        print_checks(checks)
    if not passed(checks):
        raise typer.Exit(1)
