"""``vcall demo``: the whole thing on the embedded default, in one process."""

from __future__ import annotations

from typing import Annotated

import typer

from vcall.cli._common import handles_errors


@handles_errors
def demo(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port for the local server (0: any free port).")
    ] = 3000,
    keep_serving: Annotated[
        bool, typer.Option("--serve/--exit", help="Keep serving after the call (Ctrl-C to stop).")
    ] = False,
) -> None:
    """Start vcall serve and play the seed call through it, showing every webhook."""
    import asyncio

    from vcall.config import Paths
    from vcall.replay import send_call
    from vcall.seed import load_seed
    from vcall.web.app import ServeOptions, create_app
    from vcall.web.server import running

    options = ServeOptions(store_path=Paths.default().events_db)

    async def run() -> None:
        async with running(create_app(options), "127.0.0.1", port) as url:
            typer.echo(f"vcall serve listening on {url}; playing the seed call into it\n")
            results = await send_call(url, load_seed())
            ok = sum(1 for r in results if r.status == 200)
            typer.echo(
                f"\n{ok}/{len(results)} webhooks answered 200; events kept in {options.store_path}"
            )
            if keep_serving:
                typer.echo("Serving until Ctrl-C.")
                await asyncio.Event().wait()

    asyncio.run(run())
