"""``vcall token``: a client JWT for the browser SDK, or the claims of one."""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from vcall._errors import ConfigError
from vcall.cli._common import handles_errors
from vcall.ncco import DEFAULT_USER

# A command imports what it needs when it runs: `vcall --help` imports every command module
# and `vcall token` its own, and both start-ups are measured (bench/startup.py).


class AclPreset(StrEnum):
    tutorial = "tutorial"
    minimal = "minimal"


@handles_errors
def token(
    user: Annotated[
        str, typer.Argument(help="The in-app user the token is for (its sub claim).")
    ] = DEFAULT_USER,
    ttl: Annotated[str, typer.Option(help="Lifetime: seconds, or 90m, 6h (at most 24h).")] = "6h",
    acl_preset: Annotated[
        AclPreset,
        typer.Option(help="ACL to grant: the tutorial's ten paths, or the minimum for calls."),
    ] = AclPreset.tutorial,
    acl: Annotated[
        str | None, typer.Option(help='ACL as JSON, e.g. \'{"paths": {"/*/sessions/**": {}}}\'.')
    ] = None,
    application_id: Annotated[
        str | None,
        typer.Option(help="Application id [env VONAGE_APPLICATION_ID, else .vcall/state.json]."),
    ] = None,
    private_key: Annotated[
        Path | None,
        typer.Option(
            help="Private key file [env VONAGE_PRIVATE_KEY (path or PEM), else .vcall/private.key]."
        ),
    ] = None,
    decode: Annotated[
        str | None,
        typer.Option(help="Print the claims of this token (or - to read it from stdin) instead."),
    ] = None,
) -> None:
    """Mint a client JWT (RS256) for USER and print only the token, so it can be piped."""
    from vcall import tokens
    from vcall.config import load_settings

    settings = load_settings(
        application_id=application_id, private_key=str(private_key) if private_key else None
    )
    if decode is not None:
        text = sys.stdin.read() if decode == "-" else decode
        public = (
            tokens.public_key_pem(tokens.load_private_key(settings.private_key))
            if settings.private_key
            else None
        )
        claims, valid = tokens.decode(text, public)
        _print_claims(claims, valid)
        return
    seconds = tokens.parse_ttl(ttl)
    grant = tokens.parse_acl(acl) if acl else tokens.ACL_PRESETS[acl_preset.value]
    if not settings.application_id:
        raise ConfigError(
            "no application id: pass --application-id, set VONAGE_APPLICATION_ID, or run `vcall setup`"
        )
    if not settings.private_key:
        raise ConfigError(
            "no private key: pass --private-key, set VONAGE_PRIVATE_KEY, or run `vcall setup`"
        )
    key = tokens.load_key(settings.private_key, check=False)  # mint() verifies what it signs
    typer.echo(tokens.mint(settings.application_id, key, user, ttl=seconds, acl=grant))


def _print_claims(claims: dict, valid: bool | None) -> None:
    import json
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    table = Table("claim", "value", title="JWT claims")
    for name, value in claims.items():
        shown = json.dumps(value) if isinstance(value, dict | list) else str(value)
        if name in ("iat", "exp", "nbf") and isinstance(value, int):
            shown += f"  ({datetime.fromtimestamp(value, UTC):%Y-%m-%d %H:%M:%S} UTC)"
        table.add_row(name, shown)
    if valid is not None:
        table.add_row(
            "signature",
            "valid for the configured key" if valid else "NOT signed by the configured key",
        )
    Console().print(table)
