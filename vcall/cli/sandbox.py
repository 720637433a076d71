"""``vcall sandbox serve|reset``: the embedded Vonage sandbox on its own."""

from typing import Annotated

import typer

from vcall.cli._common import handles_errors

# A command imports what it needs when it runs: `vcall --help` imports every command module
# and `vcall token` its own, and both start-ups are measured (bench/startup.py).

app = typer.Typer(
    help="The embedded Vonage sandbox: Applications, Numbers and Users APIs over local HTTPS.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

#: Where ``vcall sandbox serve`` listens unless told otherwise.
DEFAULT_PORT = 8443

NumbersOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--number", help="A number the account owns, e.g. '+44 20 3829 7050' (repeatable)."
    ),
]


def _normalised(numbers: list[str] | None) -> list[str]:
    from vcall.phone import normalise

    return [normalise(n) for n in numbers or []]


@app.command("serve")
@handles_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = DEFAULT_PORT,
    number: NumbersOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the connection details as one JSON line.")
    ] = False,
) -> None:
    """Serve the sandbox API over HTTPS until Ctrl-C, and print how to point an SDK at it."""
    import json

    from vcall.paths import Paths
    from vcall.sandbox.account import SandboxState
    from vcall.sandbox.rest.server import Endpoint, serve
    from vcall.serving import run

    state = SandboxState.open(Paths.default())
    state.own(_normalised(number))
    account = state.account

    def ready(endpoint: Endpoint) -> None:
        info = {
            "url": endpoint.url,
            "host": endpoint.host,
            "api_key": account.api_key,
            "api_secret": account.api_secret,
            "signature_secret": account.signature_secret,
            "ca_file": str(endpoint.ca_cert.resolve()),
        }
        if as_json:
            typer.echo(json.dumps(info), nl=True)
            return
        typer.echo(
            f"vcall sandbox listening on {info['url']}  (Ctrl-C to stop)\n"
            f"  api_host / rest_host  {info['host']}\n"
            f"  API key               {info['api_key']}\n"
            f"  API secret            {info['api_secret']}\n"
            f"  signature secret      {info['signature_secret']}\n"
            f"  CA certificate        {info['ca_file']}\n"
            f"  export REQUESTS_CA_BUNDLE={info['ca_file']}"
        )

    run(serve(state, host, port, ready))


@app.command("reset")
@handles_errors
def reset(
    everything: Annotated[
        bool,
        typer.Option("--all", help="Also draw a new account (key, secrets) and a new CA."),
    ] = False,
    number: NumbersOpt = None,
) -> None:
    """Forget the sandbox's applications, users, number links and request log.

    The account's credentials and CA are kept (configured SDKs keep working) unless --all.
    The account owns 442038297050 again, or the --number(s) given.
    """
    from vcall.paths import Paths
    from vcall.sandbox.account import DEFAULT_NUMBER, SandboxState

    state = SandboxState.open(Paths.default())
    state.reset(numbers=_normalised(number) or [DEFAULT_NUMBER], everything=everything)
    owned = ", ".join(n["msisdn"] for n in state.numbers())
    typer.echo(f"Sandbox reset in {state.folder}; the account owns {owned}.")
