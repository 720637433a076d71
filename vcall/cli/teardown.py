"""``vcall teardown``: undo ``vcall setup``."""

from typing import Annotated

import typer

from vcall.cli._common import handles_errors

# A command imports what it needs when it runs: `vcall --help` imports every command module
# and `vcall token` its own, and both start-ups are measured (bench/startup.py).


@handles_errors
def teardown(
    purge: Annotated[bool, typer.Option(help="Also delete the events database.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was done as JSON.")] = False,
) -> None:
    """Unlink the number, delete the user and the application, forget the saved state.

    Safe to run twice. The events database is kept unless --purge.
    """
    import json

    from vcall.cli._progress import Steps
    from vcall.provision import run_teardown

    done = run_teardown(purge=purge, step=Steps(quiet=as_json))
    if as_json:
        typer.echo(json.dumps({"done": done}, indent=2))
    elif done:
        typer.echo("\n".join(done))
    else:
        typer.echo("Nothing to tear down.")
