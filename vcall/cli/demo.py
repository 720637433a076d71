"""``vcall demo``: the whole thing on the embedded sandbox, in one process."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from vcall.cli._common import handles_errors

# A command imports what it needs when it runs: `vcall --help` imports every command module
# and `vcall token` its own, and both start-ups are measured (bench/startup.py).

if TYPE_CHECKING:
    from vcall.demo import DemoReady


@handles_errors
def demo(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port for the local server (0: any free port).")
    ] = 3000,
    place_call: Annotated[
        bool,
        typer.Option(
            "--call/--no-call",
            help="Place a simulated call that a headless Alice answers, then hangs up.",
        ),
    ] = True,
    talk_for: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=60,
            help="Seconds the greeting takes [default: in proportion to its text].",
            show_default=False,
        ),
    ] = None,
    answer_after: Annotated[
        float, typer.Option(min=0, max=60, help="Seconds the call rings before Alice answers.")
    ] = 1.0,
    hold: Annotated[
        float, typer.Option(min=0, max=3600, help="Seconds Alice stays on the line.")
    ] = 3.0,
    keep_serving: Annotated[
        bool,
        typer.Option(
            "--serve/--exit",
            help="Keep serving after the call, so you can open the page and answer "
            "`vcall call` yourself (Ctrl-C to stop).",
        ),
    ] = False,
) -> None:
    """Set up the sandbox, start vcall serve, and play a whole call through it.

    Every webhook shows as it arrives: the NCCO request, then each event of both legs.
    No Vonage account, number or network needed.
    """
    from vcall.cli.call import render_summary
    from vcall.demo import run_demo
    from vcall.sandbox.voice.request import CallRequest, Outcome
    from vcall.serving import run

    call = (
        CallRequest(
            outcome=Outcome.answered, talk_for=talk_for, answer_after=answer_after, hold=hold
        )
        if place_call
        else None
    )

    def ready(info: "DemoReady") -> None:
        setup = info.setup
        typer.echo(f"vcall serve listening on {info.url} (sandbox)")
        typer.echo(
            f"  sandbox application {setup.application_id}: number {setup.number} "
            f"→ user {setup.user_name}"
        )
        typer.echo(f"  the page: {info.page_url}")
        if call is None and keep_serving:
            typer.echo("\nServing until Ctrl-C: open the page, then run `vcall call` to ring it.")
        if call is not None:
            typer.echo(
                f"\nCalling {setup.number} from {call.from_}; a headless {setup.user_name} "
                f"answers after {answer_after:g} s and hangs up after {hold:g} s.\n"
            )

    def finished(summary: dict[str, Any]) -> None:
        typer.echo("")
        render_summary(summary)
        if keep_serving:
            typer.echo("\nServing until Ctrl-C: open the page, then run `vcall call` to ring it.")

    run(run_demo(port, call, keep_serving=keep_serving, on_ready=ready, on_call=finished))
