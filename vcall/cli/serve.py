"""``vcall serve``: the webhook server, event store, page and streams."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import StrEnum
from typing import Annotated

import typer

from vcall import client_sdk
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
    str | None,
    typer.Option(
        "--store",
        envvar="VCALL_STORE",
        help="Where events are kept: a SQLite file [default: .vcall/events.db], or a "
        "postgresql:// URL that several vcall serve share (what it leaves out comes from the "
        "PG* variables; give a password in PGPASSWORD or VCALL_STORE: a flag shows in `ps`).",
        show_default=False,
    ),
]
WorkersOpt = Annotated[
    int,
    typer.Option(
        min=1,
        max=64,
        help="Processes serving the port (SO_REUSEPORT), each a whole vcall serve on the one "
        "store (live mode only: the sandbox keeps its calls in one process).",
    ),
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
        help="Simulate calls (vcall call), which ring the page's Vonage Client SDK here, or "
        "take real calls through Vonage [default: sandbox unless VONAGE_API_KEY is set].",
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
TunnelOpt = Annotated[
    str | None,
    typer.Option(
        metavar="NAME|CMD",
        help="Start this tunnel to the server and point the application's webhooks through "
        "it while serving: cloudflared, ngrok, localtunnel, or a whole command ({port}, "
        "{host}, {url} are the server's). They are put back when vcall serve stops.",
        show_default=False,
    ),
]
PublicUrlOpt = Annotated[
    str | None,
    typer.Option(
        help="A public URL that leads to this server (a tunnel you run): checked, then the "
        "application's webhooks point at it while serving, and are put back after.",
        show_default=False,
    ),
]
Region = StrEnum("Region", {region: region for region in client_sdk.REGIONS})
_DEFAULT_REGION = Region(client_sdk.REGIONS[0])
RegionOpt = Annotated[
    Region, typer.Option(help="Live: the region whose Vonage hosts the page's Client SDK uses.")
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
    tunnel: TunnelOpt = None,
    public_url: PublicUrlOpt = None,
    workers: WorkersOpt = 1,
    region: RegionOpt = _DEFAULT_REGION,
) -> None:
    """Run the answer/event webhooks and keep every event in a durable store.

    The application's webhooks are made to reach this server while it runs: in the sandbox
    directly, live through --tunnel or --public-url (checked by a request that must come back
    to this server), and put back when it stops. The page runs the Vonage Client SDK, which
    is installed with npm on first use. Stop with Ctrl-C (or SIGTERM): sandbox calls in
    progress are hung up first, and their last events stored; with --workers, every worker
    stops.
    """
    from vcall._errors import ConfigError
    from vcall.config import load_settings
    from vcall.expose import Exposure, exposed
    from vcall.modes import resolve_mode, webhook_secret
    from vcall.paths import Paths
    from vcall.remote import discovery
    from vcall.serving import run, serve_forever
    from vcall.store import shown
    from vcall.web.app import ServeOptions, create_app
    from vcall.web.signed import startup_warnings
    from vcall.workers import serve_workers

    paths = Paths.default()
    settings = load_settings(paths, signature_secret=signature_secret)
    flag = None if sandbox is None else ("sandbox" if sandbox else "live")
    mode = resolve_mode(flag, settings)
    sandbox_mode = mode == "sandbox"
    if workers > 1 and sandbox_mode:
        raise ConfigError(
            "--workers needs --live: the sandbox keeps its calls in one process's memory"
        )
    secret = webhook_secret(settings, sandbox=sandbox_mode, flag=signature_secret)
    for warning in startup_warnings(host, secret=secret, verify=not no_verify):
        typer.secho(f"Warning: {warning}", err=True, fg=typer.colors.YELLOW)
    options = ServeOptions(
        store=store or paths.events_db,
        talk=talk,
        user=user,
        quiet=quiet,
        page_key=discovery.page_key(paths),
        signature_secret=secret,
        verify_signatures=not no_verify,
        durability=durability.value,
        sandbox=sandbox_mode,
        paths=paths,
        region=region.value,
    )
    _install_sdk()

    def note(line: str) -> None:
        if line.startswith("Warning: "):
            typer.secho(line, err=True, fg=typer.colors.YELLOW)
        else:
            typer.echo(line)

    def ready(url: str, exposure: Exposure) -> None:
        public = exposure.public_url if exposure.public_url != url else None
        discovery.announce(
            paths, url, options.page_key, instance=options.instance, public_url=public
        )
        hooks = public or url
        processes = f", {workers} workers" if workers > 1 else ""
        typer.echo(f"vcall serve listening on {url}  (events: {shown(options.store)}{processes})")
        if public:
            typer.echo(f"  public URL      {public}")
        typer.echo(f"  answer webhook  {hooks}/voice/answer")
        typer.echo(f"  event webhook   {hooks}/voice/event")
        typer.echo(f"  the page        {url}/?key={options.page_key}")
        if options.sandbox:
            typer.echo("  sandbox: place a call with `vcall call` (open the page to answer it)")

    @contextlib.asynccontextmanager
    async def reachable(url: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
        async with exposed(
            url,
            options.instance,
            mode=mode,
            paths=paths,
            settings=settings,
            tunnel=tunnel,
            public_url=public_url,
            say=note,
        ) as exposure:
            ready(url, exposure)
            yield exposure.lost

    try:
        if workers > 1:
            run(serve_workers(options, host, port, workers, around=reachable))
        else:
            run(serve_forever(create_app(options), host, port, around=reachable))
    finally:
        discovery.withdraw(paths)


def _install_sdk() -> None:
    """The page's Client SDK, installed with npm the first time (a spinner meanwhile); without
    npm, one line says what to do and the server runs on (the webhooks need no page)."""
    from rich.console import Console

    from vcall._errors import ConfigError

    if client_sdk.bundle() is not None:
        return
    try:
        with Console(stderr=True).status("Installing the Vonage Client SDK for the page (npm ci)…"):
            client_sdk.install()
    except ConfigError as exc:
        typer.secho(f"Warning: {exc}", err=True, fg=typer.colors.YELLOW)
