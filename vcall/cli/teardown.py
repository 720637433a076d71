"""``vcall teardown``: undo ``vcall setup``."""

from typing import Annotated

import typer

from vcall.cli._common import handles_errors

# A command imports what it needs when it runs: `vcall --help` imports every command module
# and `vcall token` its own, and both start-ups are measured (bench/startup.py).


@handles_errors
def teardown(
    purge: Annotated[bool, typer.Option(help="Also delete the events database.")] = False,
    release: Annotated[
        bool,
        typer.Option(
            "--release",
            help="Also cancel the numbers vcall bought (setup --buy), after a confirmation, so "
            "they stop costing. A number vcall did not buy is never released.",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Release without asking.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was done as JSON.")] = False,
) -> None:
    """Unlink the number, delete the user and the application, forget the saved state.

    Safe to run twice. The events database is kept unless --purge; the numbers vcall bought
    stay on the account (and in the state file) unless --release.
    """
    import json

    from vcall.cli._progress import Steps
    from vcall.provision import run_teardown

    steps = Steps(quiet=as_json)

    def confirm(number: str) -> bool:
        return yes or steps.ask(
            f"Release {number}, which vcall bought? It is cancelled at once (no undo) and "
            "stops costing."
        )

    done = run_teardown(purge=purge, release=release, confirm_release=confirm, step=steps)
    if as_json:
        typer.echo(json.dumps({"done": done}, indent=2))
    elif done:
        typer.echo("\n".join(done))
    else:
        typer.echo("Nothing to tear down.")
