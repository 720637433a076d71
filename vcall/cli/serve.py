"""``vcall serve``: the webhook server, event store, page and streams."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from vcall.cli._common import handles_errors
from vcall.ncco import DEFAULT_TALK, DEFAULT_USER
from vcall.store import DEFAULT_DURABILITY, DURABILITY

# A command imports what it needs when it runs: `vcall --help` imports every command module
# and `vcall token` its own, and both start-ups are measured (bench/startup.py).

HostOpt = Annotated[
    str, typer.Option(help="Address to listen on (127.0.0.1 keeps it on this machine).")
]
PortOpt = Annotated[
    int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")
]
StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="SQLite file for events [default: .vcall/events.db]."),
]
UserOpt = Annotated[str, typer.Option(help="App user the answer NCCO connects calls to.")]
TalkOpt = Annotated[str, typer.Option(help="What the caller hears before being connected.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Do not print a line per webhook.")]
SecretOpt = Annotated[
    str | None,
    typer.Option(
        help="Secret Vonage signs webhooks with [env VONAGE_SIGNATURE_SECRET, .env, "
        "or the sandbox's]; with one, unsigned /voice/* requests get 401. "
        "Prefer the environment variable: a flag shows in `ps`.",
        show_default=False,
    ),
]
ModeOpt = Annotated[
    bool | None,
    typer.Option(
        "--sandbox/--live",
        help="Simulate calls (vcall call) and give the page the sandbox transport, or take "
        "real calls with the Vonage Client SDK [default: sandbox unless VONAGE_API_KEY is set].",
        show_default=False,
    ),
]
Durability = StrEnum("Durability", {level: level for level in DURABILITY})
_DEFAULT_DURABILITY = Durability(DEFAULT_DURABILITY)
DurabilityOpt = Annotated[
    Durability,
    typer.Option(
        help="What an acknowledged event survives: "
        + "; ".join(f"{level}: {meaning}" for level, meaning in DURABILITY.items())
        + "."
    ),
]
NoVerifyOpt = Annotated[
    bool, typer.Option("--no-verify", help="Accept unsigned webhooks even with a secret (unsafe).")
]


@handles_errors
def serve(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 3000,
    store: StoreOpt = None,
    user: UserOpt = DEFAULT_USER,
    talk: TalkOpt = DEFAULT_TALK,
    quiet: QuietOpt = False,
    signature_secret: SecretOpt = None,
    no_verify: NoVerifyOpt = False,
    sandbox: ModeOpt = None,
    durability: DurabilityOpt = _DEFAULT_DURABILITY,
) -> None:
    """Run the answer/event webhooks and keep every event in a durable store.

    Point your Vonage application's answer URL at /voice/answer and its event URL at
    /voice/event (vcall setup does this for you). Stop with Ctrl-C (or SIGTERM): sandbox
    calls in progress are hung up first, and their last events stored.
    """
    from vcall.config import load_settings
    from vcall.modes import resolve_mode, webhook_secret
    from vcall.paths import Paths
    from vcall.remote import discovery
    from vcall.serving import run, serve_forever
    from vcall.web.app import ServeOptions, create_app
    from vcall.web.signed import startup_warnings

    paths = Paths.default()
    settings = load_settings(paths, signature_secret=signature_secret)
    flag = None if sandbox is None else ("sandbox" if sandbox else "live")
    sandbox_mode = resolve_mode(flag, settings) == "sandbox"
    secret = webhook_secret(settings, sandbox=sandbox_mode, flag=signature_secret)
    for warning in startup_warnings(host, secret=secret, verify=not no_verify):
        typer.secho(f"Warning: {warning}", err=True, fg=typer.colors.YELLOW)
    options = ServeOptions(
        store_path=store or paths.events_db,
        talk=talk,
        user=user,
        quiet=quiet,
        page_key=discovery.page_key(paths),
        signature_secret=secret,
        verify_signatures=not no_verify,
        durability=durability.value,
        sandbox=sandbox_mode,
        paths=paths,
    )
    app = create_app(options)

    def ready(url: str) -> None:
        discovery.announce(paths, url, options.page_key)
        typer.echo(f"vcall serve listening on {url}  (events: {options.store_path})")
        typer.echo(f"  answer webhook  {url}/voice/answer")
        typer.echo(f"  event webhook   {url}/voice/event")
        typer.echo(f"  the page        {url}/?key={options.page_key}")
        if options.sandbox:
            typer.echo("  sandbox: place a call with `vcall call` (open the page to answer it)")

    try:
        run(serve_forever(app, host, port, ready))
    finally:
        discovery.withdraw(paths)
