"""``vcall status``: every link of the chain checked, one :class:`Check` each.

In order: the credentials are accepted; the application exists; the private key matches its
public key; its webhooks point at the current public URL, and that URL reaches this
``vcall serve``; the number is linked to it; the user exists; ``vcall serve`` runs and its
answer URL returns a schema-valid NCCO; signed callbacks are on and the secret is known; the
Client SDK bundle is installed for the page. A check that cannot be made because an earlier one
failed is reported as not checked. Each failure names the command that fixes it.

Vonage is asked through the gateway, as ``vcall setup`` asks it: live or the sandbox, one code
path. A ``vcall serve`` that died without putting the webhooks back is recovered first
(:func:`vcall.repoint.recover`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from jsonschema import Draft4Validator

from vcall import client_sdk
from vcall import state as state_file
from vcall._errors import AuthError, ConfigError, GatewayError, VcallError
from vcall.checks import Check, passed
from vcall.config import Settings, load_settings
from vcall.gateway import Gateway, WebhookUrls
from vcall.modes import Mode, resolve_mode, webhook_secret
from vcall.paths import Paths
from vcall.provision import connect, key_matches
from vcall.remote import discovery
from vcall.remote.discovery import ServerInfo
from vcall.remote.probe import fetch_ncco, round_trip
from vcall.repoint import base_url, recover
from vcall.tokens import load_private_key


@dataclass
class _Found:
    """What the checks learn as they go, for the ones after them."""

    paths: Paths
    settings: Settings
    mode: Mode
    saved: dict[str, Any]
    server: ServerInfo | None = None
    app: dict[str, Any] | None = None
    owned: list[dict[str, Any]] = field(default_factory=list)
    key: str | None = None


def _skipped(name: str, why: str) -> Check:
    return Check(name, None, f"not checked: {why}")


def _running_server(paths: Paths) -> ServerInfo | None:
    """The ``vcall serve`` of this folder, if its process is alive."""
    try:
        server = discovery.find(paths)
    except ConfigError:
        return None
    try:
        os.kill(server.pid, 0)
    except ProcessLookupError:
        return None  # killed without withdrawing (kill -9): its serve.json is stale
    except PermissionError:
        pass  # alive, another user's
    return server


def run_status(mode: Mode | None = None, paths: Paths | None = None) -> tuple[Mode, list[Check]]:
    """Every check, in order, for ``mode`` (default: the mode setup used, else as setup
    would choose it)."""
    paths = paths or Paths.default()
    settings = load_settings(paths)
    saved = state_file.load(paths)
    chosen: Mode = mode or saved.get("mode") or resolve_mode(None, settings)
    found = _Found(paths, settings, chosen, saved, server=_running_server(paths))
    checks: list[Check] = []
    try:
        with connect(chosen, settings) as gateway:
            recovery = recover(
                paths,
                lambda m: contextlib.nullcontext(gateway) if m == chosen else connect(m, settings),
            )
            if recovery is not None:
                fix = None if recovery.restored else "fix the cause above, then `vcall status`"
                checks.append(Check("webhooks restored", recovery.restored, recovery.message, fix))
            checks += _account(gateway, found)
    except ConfigError as exc:  # live without credentials
        checks.append(Check("credentials", False, str(exc), _credentials_fix(chosen)))
        checks += [_skipped(name, "no credentials") for name in _ACCOUNT_CHECKS[1:]]
    checks.append(_serve(found))
    checks.append(_signed(found))
    checks.append(_sdk_bundle())
    return chosen, checks


_ACCOUNT_CHECKS = (
    "credentials",
    "application",
    "private key",
    "webhooks",
    "public URL",
    "number",
    "user",
)


def _credentials_fix(mode: Mode) -> str:
    if mode == "live":
        return "set VONAGE_API_KEY and VONAGE_API_SECRET (environment or .env)"
    return "unset VONAGE_API_KEY / VONAGE_API_SECRET, or `vcall sandbox reset --all`"


def _account(gateway: Gateway, found: _Found) -> list[Check]:
    """The checks that ask Vonage (or the sandbox): credentials to user."""
    where = "the vcall sandbox" if found.mode == "sandbox" else "Vonage"
    try:
        found.owned = gateway.owned_numbers()
    except GatewayError as exc:
        fix = _credentials_fix(found.mode) if isinstance(exc, AuthError) else None
        return [
            Check("credentials", False, str(exc), fix or "check the network, then run again"),
            *(_skipped(name, "credentials failed") for name in _ACCOUNT_CHECKS[1:]),
        ]
    checks = [Check("credentials", True, f"accepted by {where}")]
    app_id = found.saved.get("application_id") if found.saved.get("mode") == found.mode else None
    if not app_id:
        return [
            *checks,
            Check("application", False, f"nothing set up ({found.mode})", "vcall setup"),
            *(_skipped(name, "no application") for name in _ACCOUNT_CHECKS[2:]),
        ]
    try:
        found.app = gateway.get_application(app_id)
    except VcallError as exc:
        found.app = None
        checks.append(Check("application", False, str(exc), "vcall setup"))
    else:
        if found.app is None:
            checks.append(
                Check("application", False, f"{app_id} does not exist (deleted?)", "vcall setup")
            )
        else:
            checks.append(Check("application", True, f"{found.app['name']} {app_id}"))
    if found.app is None:
        return checks + [_skipped(name, "no application") for name in _ACCOUNT_CHECKS[2:]]
    checks.append(_private_key(found))
    checks += _webhooks(found)
    checks.append(_number(found))
    checks.append(_user(gateway, found))
    return checks


def _private_key(found: _Found) -> Check:
    assert found.app is not None
    configured = found.settings.private_key
    if found.settings.sources.get("private_key") == "state" or not configured:
        configured = str(found.paths.private_key)
    try:
        # Unchecked here: the Users API's JWT, signed with it next, checks it.
        key = load_private_key(configured, check=False)
    except ConfigError as exc:
        return Check(
            "private key", False, str(exc), "vcall setup (gives the application a new key)"
        )
    public = (found.app.get("keys") or {}).get("public_key")
    if not key_matches(key, public):
        return Check(
            "private key",
            False,
            f"{configured} is not the key of application {found.app['id']}",
            "vcall setup (gives the application a new key)",
        )
    found.key = key
    return Check("private key", True, f"{configured} matches the application's public key")


def _current_public_url(found: _Found) -> str | None:
    if found.server is not None:
        return found.server.public_url or found.server.url
    saved = found.saved.get("public_url")
    return str(saved) if saved else None


def _webhooks(found: _Found) -> list[Check]:
    """Where the webhooks point, and whether that reaches this ``vcall serve``."""
    assert found.app is not None
    hooks = WebhookUrls.of(found.app)
    current = _current_public_url(found)
    if hooks is None:
        return [
            Check("webhooks", False, "the application has no voice webhooks", "vcall setup"),
            _skipped("public URL", "no webhooks"),
        ]
    pointed = base_url(hooks)
    if current is None or WebhookUrls.for_public_url(current) != hooks:
        if found.server is not None:
            fix = f"vcall setup --public-url {current}, or restart vcall serve"
        else:
            fix = "vcall setup --public-url URL"
        checks = [Check("webhooks", False, f"point at {pointed}, not at {current}", fix)]
    else:
        checks = [Check("webhooks", True, f"point at {pointed}")]
    if found.server is None:
        return [*checks, _skipped("public URL", "no vcall serve running")]
    why = asyncio.run(round_trip(pointed, found.server.instance))
    if why is None:
        checks.append(Check("public URL", True, f"{pointed} reaches this vcall serve"))
    else:
        checks.append(
            Check(
                "public URL",
                False,
                why,
                f"vcall serve --tunnel cloudflared (or a tunnel to {found.server.url})",
            )
        )
    return checks


def _number(found: _Found) -> Check:
    assert found.app is not None
    number = found.saved.get("number")
    record = next((n for n in found.owned if n.get("msisdn") == number), None)
    if not number or record is None:
        return Check(
            "number",
            False,
            f"{number or 'no number'} is not on this account",
            "vcall setup --number N (or --buy COUNTRY)",
        )
    linked = record.get("app_id")
    if linked == found.app["id"]:
        return Check("number", True, f"{number} is linked to the application")
    if linked:
        return Check(
            "number", False, f"{number} is linked to another application ({linked})",
            "vcall setup --force",
        )  # fmt: skip
    return Check("number", False, f"{number} is not linked to any application", "vcall setup")


def _user(gateway: Gateway, found: _Found) -> Check:
    assert found.app is not None
    name = found.saved.get("user_name") or "Alice"
    if found.key is None:
        return _skipped("user", "no private key for the application")
    try:
        users = gateway.find_users(found.app["id"], found.key, name)
    except VcallError as exc:
        return Check("user", False, str(exc), "vcall setup")
    if not users:
        return Check("user", False, f"{name} is not a user of the application", "vcall setup")
    return Check("user", True, f"{name} {users[0]['id']}")


def _serve(found: _Found) -> Check:
    server = found.server
    if server is None:
        return Check("vcall serve", False, "not running", "vcall serve")
    secret = webhook_secret(found.settings, sandbox=found.mode == "sandbox")
    ncco, why = asyncio.run(
        fetch_ncco(
            f"{server.url}/voice/answer",
            secret=secret,
            api_key=found.settings.api_key or "",
            application_id=str(found.saved.get("application_id") or ""),
            number=str(found.saved.get("number") or ""),
        )
    )
    if why is None:
        why = _ncco_error(ncco)
    if why is not None:
        return Check("vcall serve", False, f"running at {server.url}, but {why}", "vcall serve")
    actions = ", ".join(a.get("action", "?") for a in ncco)
    return Check(
        "vcall serve", True, f"{server.url}: its answer URL returns a valid NCCO ({actions})"
    )


def _ncco_error(ncco: Any) -> str | None:
    """Why ``ncco`` is not valid against Vonage's NCCO schema (shipped in the package)."""
    schema = json.loads(
        resources.files("vcall").joinpath("data/specs/ncco-schema.json").read_text()
    )
    error = next(iter(Draft4Validator(schema).iter_errors(ncco)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "the NCCO"
    return f"its NCCO is not valid at {where}: {error.message.splitlines()[0]}"


def _signed(found: _Found) -> Check:
    app = found.app
    if app is not None and not ((app.get("capabilities") or {}).get("voice") or {}).get(
        "signed_callbacks"
    ):
        return Check(
            "signed callbacks", False, "off for the application", "vcall setup (turns them on)"
        )
    if not webhook_secret(found.settings, sandbox=found.mode == "sandbox"):
        return Check(
            "signed callbacks",
            False,
            "the signature secret is not known, so webhooks cannot be verified",
            "set VONAGE_SIGNATURE_SECRET (Dashboard → API settings) in the environment or .env",
        )
    on = "on, and" if app is not None else "the application unknown;"
    return Check("signed callbacks", True, f"{on} the signature secret is known")


def _sdk_bundle() -> Check:
    bundle = client_sdk.bundle()
    if bundle is not None:
        return Check("Client SDK", True, f"installed for the page ({bundle})")
    return Check(
        "Client SDK",
        False,
        f"not installed in {client_sdk.install_dir()}",
        "vcall serve installs it with npm on first use (or: python -m vcall.client_sdk)",
    )


def as_json(mode: Mode, checks: list[Check]) -> dict[str, Any]:
    """``vcall status --json``: ``{"ok", "mode", "checks": [{"name", "ok", "detail", "fix"}]}``."""
    return {"ok": passed(checks), "mode": mode, "checks": [c.as_json() for c in checks]}
