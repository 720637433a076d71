"""Live or sandbox: every decision that depends on the mode, each made here once.

- which mode: ``--live``/``--sandbox`` if given, else live when an API key is *given* (a flag,
  the environment, ``.env``), sandbox otherwise (:func:`resolve_mode`);
- what counts as given: a value read from ``.vcall/state.json`` does not, since ``vcall setup``
  writes the sandbox account's credentials there (:func:`given`);
- which credentials the SDK uses (:func:`live_credentials`, :func:`sandbox_credentials`);
- which secret webhooks are signed with (:func:`webhook_secret`);
- which CA the SDK trusts: the system's live, the sandbox's own in sandbox mode, put in
  ``REQUESTS_CA_BUNDLE`` for as long as the sandbox runs (:func:`trusting`).

:mod:`vcall.gateway` is handed the result and only speaks the SDK;
:func:`vcall.provision.connect` puts the two together.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vcall._errors import ConfigError
from vcall._logging import protect
from vcall.config import Settings
from vcall.paths import Paths
from vcall.sandbox.account import Account, SandboxState

Mode = Literal["sandbox", "live"]
LIVE_API_HOST = "api.nexmo.com"
LIVE_REST_HOST = "rest.nexmo.com"


@dataclass(frozen=True)
class Credentials:
    """The account key and secret the SDK authenticates with (and the signature secret)."""

    api_key: str
    api_secret: str
    signature_secret: str | None = None


def given(settings: Settings, name: str) -> str | None:
    """The setting ``name`` if it was given on purpose (a flag, the environment, ``.env``);
    None if only ``state.json`` has it (``vcall setup`` saved it there)."""
    if settings.sources.get(name, "state") == "state":
        return None
    value: str | None = getattr(settings, name)
    return value


def default_mode(settings: Settings) -> Mode:
    """Live when an API key is given on purpose, sandbox otherwise."""
    return "live" if given(settings, "api_key") else "sandbox"


def resolve_mode(flag: Mode | None, settings: Settings) -> Mode:
    """``--live``/``--sandbox`` if given, else :func:`default_mode`."""
    return flag if flag is not None else default_mode(settings)


def for_mode(settings: Settings, name: str, mode: Mode, saved_mode: str | None) -> str | None:
    """``name``'s value for a run in ``mode``: given on purpose, or saved by a setup in the same
    mode (a value remembered from the other mode names nothing here)."""
    if settings.sources.get(name) == "state" and saved_mode != mode:
        return None
    value: str | None = getattr(settings, name)
    return value


def sandbox_credentials(settings: Settings, account: Account) -> Credentials:
    """Sandbox mode: a key or secret given on purpose is used as given (so a wrong one fails as
    it would live); otherwise the sandbox account's."""
    return Credentials(
        given(settings, "api_key") or account.api_key,
        given(settings, "api_secret") or account.api_secret,
        account.signature_secret,
    )


def live_credentials(settings: Settings) -> Credentials:
    """Live mode: the account key and secret, given on purpose (the state file only ever holds
    the sandbox's)."""
    api_key, api_secret = given(settings, "api_key"), given(settings, "api_secret")
    if not api_key or not api_secret:
        raise ConfigError(
            "no Vonage credentials: set VONAGE_API_KEY and VONAGE_API_SECRET (or put them in "
            ".env), or try the embedded sandbox with --sandbox"
        )
    return Credentials(api_key, api_secret, settings.signature_secret)


def sandbox_secret(paths: Paths) -> str:
    """The secret the sandbox platform signs every webhook with (its account's)."""
    secret = SandboxState.open(paths).account.signature_secret
    protect(secret)
    return secret


def webhook_secret(settings: Settings, *, sandbox: bool, flag: str | None = None) -> str | None:
    """The secret webhooks are signed with.

    One given on purpose (``--signature-secret``, ``VONAGE_SIGNATURE_SECRET``, ``.env``)
    wins; otherwise, in the sandbox, the sandbox account's (its platform signs every webhook
    with it, set up or not); otherwise the one ``vcall setup`` saved.
    """
    if flag:
        return flag
    chosen = given(settings, "signature_secret")
    if chosen:
        return chosen
    if sandbox:
        return sandbox_secret(settings.paths)
    return settings.signature_secret


@contextlib.contextmanager
def trusting(ca_cert: Path) -> Iterator[None]:
    """Make ``requests`` trust ``ca_cert`` and go direct to loopback while the block runs."""
    saved = {k: os.environ.get(k) for k in ("REQUESTS_CA_BUNDLE", "NO_PROXY", "no_proxy")}
    os.environ["REQUESTS_CA_BUNDLE"] = str(ca_cert)
    # An HTTPS_PROXY must not swallow the loopback sandbox.
    bypass = ",".join(filter(None, [saved["NO_PROXY"] or saved["no_proxy"], "127.0.0.1,localhost"]))
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = bypass
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
