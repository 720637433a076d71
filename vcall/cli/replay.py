"""``vcall replay``: re-send stored events (and the answer request) to a URL."""

from typing import Annotated

import typer

from vcall.cli._common import handles_errors

# A command imports what it needs when it runs: `vcall --help` imports every command module
# and `vcall token` its own, and both start-ups are measured (bench/startup.py).

ToOpt = Annotated[
    str | None,
    typer.Option(help="Base URL to send to [default: the local vcall serve]."),
]
ConversationOpt = Annotated[
    list[str] | None,
    typer.Option(metavar="CON-…", help="Re-send this whole call; repeatable.", show_default=False),
]
IdOpt = Annotated[
    list[int] | None,
    typer.Option(
        "--id", help="Re-send this one event (its id/cursor); repeatable.", show_default=False
    ),
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="VCALL_STORE",
        help="The store to read: a SQLite file [default: .vcall/events.db], or a "
        "postgresql:// URL (the rest from the PG* variables).",
        show_default=False,
    ),
]


@handles_errors
def replay(
    to: ToOpt = None,
    conversation: ConversationOpt = None,
    event_id: IdOpt = None,
    store: StoreOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the deliveries and the totals as JSON.")
    ] = False,
) -> None:
    """Re-send stored events, in stored order, and report each response code.

    Each whole call (--conversation, or the newest call when nothing is chosen) starts with
    its answer requests, as vcall serve received them. Requests are signed like Vonage's when a signature secret is
    configured (VONAGE_SIGNATURE_SECRET, .env or vcall setup).
    """
    import asyncio
    import json

    from vcall.config import load_settings
    from vcall.paths import Paths
    from vcall.remote import discovery
    from vcall.replay import delivery_json, replay_report, replay_stored, signer_for

    paths = Paths.default()
    target = to or discovery.find(paths).url
    signer = signer_for(load_settings(paths))
    deliveries: list[dict] = []

    async def run() -> int:
        failed = sent = 0
        async for d in replay_stored(
            store or paths.events_db,
            target,
            ids=event_id or (),
            conversations=conversation or (),
            signer=signer,
        ):
            sent += 1
            failed += not d.ok
            deliveries.append(delivery_json(d))
            why = deliveries[-1]["error"]
            if as_json:
                continue
            colour = typer.colors.GREEN if d.ok else typer.colors.RED
            code = typer.style(str(d.status), fg=colour)
            line = f"{code}  {d.method:4} {d.path}  {d.label}".rstrip()
            typer.echo(f"{line}: {why}" if why else line)
        how = "signed" if signer else "unsigned"
        if as_json:
            typer.echo(json.dumps(replay_report(target, signer, deliveries), indent=2))
        else:
            typer.echo(f"{sent - failed}/{sent} accepted by {target} ({how})")
        return failed

    if asyncio.run(run()):
        raise typer.Exit(1)
