"""``vcall token``: a client JWT for the browser SDK, or the claims of one."""

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vcall._errors import ConfigError
from vcall.cli._common import handles_errors, print_checks
from vcall.ncco import DEFAULT_USER

if TYPE_CHECKING:
    from vcall.config import Settings

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
        typer.Option(
            help="Print the claims of this token (or - to read it from stdin) instead, and what "
            "in it would break a session (exit 1 if anything)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --decode: print the claims and findings as JSON.")
    ] = False,
) -> None:
    """Mint a client JWT (RS256) for USER and print only the token, so it can be piped.

    --decode reads one instead: its claims, and the token doctor's findings (exp in
    milliseconds, expired or over 24 h, a sub that is not a user of the application, an ACL
    without the Client SDK's paths, another application, another key).
    """
    from vcall import tokens
    from vcall.config import load_settings

    settings = load_settings(
        application_id=application_id, private_key=str(private_key) if private_key else None
    )
    if decode is not None:
        _decode(sys.stdin.read() if decode == "-" else decode, settings, as_json)
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


def _decode(text: str, settings: "Settings", as_json: bool) -> None:
    """Print the token's claims and the doctor's findings; exit 1 if any breaks a session."""
    import json

    from vcall import tokens
    from vcall.checks import passed
    from vcall.token_doctor import examine

    public = (
        tokens.public_key_pem(tokens.load_private_key(settings.private_key))
        if settings.private_key
        else None
    )
    claims, valid = tokens.decode(text, public)
    is_user, unknown = _is_user(claims, settings)
    findings = examine(
        claims,
        signature_valid=valid,
        application_id=settings.application_id,
        sub_is_user=is_user,
        users_unknown=unknown,
    )
    if as_json:
        signature = {True: "valid", False: "invalid", None: "not checked"}[valid]
        document = {
            "ok": passed(findings),
            "claims": claims,
            "signature": signature,
            "findings": [f.as_json() for f in findings],
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        _print_claims(claims, valid)
        print_checks(findings)
    if not passed(findings):
        raise typer.Exit(1)


def _is_user(claims: dict, settings: "Settings") -> tuple[bool | None, str]:
    """Whether the configured application has a user named as the token's ``sub`` (None: not
    known, and why), asked through the gateway as vcall setup asks."""
    from vcall import state as state_file
    from vcall import tokens
    from vcall._errors import VcallError
    from vcall.modes import resolve_mode
    from vcall.provision import connect

    sub, app_id = claims.get("sub"), settings.application_id
    if not app_id or not settings.private_key:
        return None, "no application configured (vcall setup, or --application-id)"
    if claims.get("application_id") != app_id:
        return None, "the token is for another application"
    if not isinstance(sub, str) or not sub:
        return None, "no sub"
    mode = state_file.load(settings.paths).get("mode") or resolve_mode(None, settings)
    try:
        with connect(mode, settings) as gateway:
            key = tokens.load_private_key(settings.private_key)
            return bool(gateway.find_users(app_id, key, sub)), ""
    except VcallError as exc:
        return None, f"the application's users could not be listed ({exc})"


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
