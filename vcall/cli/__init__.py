"""The ``vcall`` command line: one module per command, each thin (parse, call, render)."""

from __future__ import annotations

import typer

from vcall.cli import call, demo, replay, sandbox, serve, setup, tail, teardown, token

app = typer.Typer(
    name="vcall",
    help="Provision and run the Vonage 'answer a phone call in the browser' demo, "
    "live or against the embedded sandbox.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("call")(call.call)
app.command("token")(token.token)
app.command("setup")(setup.setup)
app.command("teardown")(teardown.teardown)
app.add_typer(sandbox.app, name="sandbox")
app.command("tail-events")(tail.tail_events)
app.command("replay")(replay.replay)


def main() -> None:
    """Console-script entry point."""
    from vcall._logging import configure

    configure()  # before any command runs: no secret may reach a log line
    app()
