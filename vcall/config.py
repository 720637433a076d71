"""Layered settings: flags → environment (``VONAGE_*``) → ``.env`` → ``.vcall/state.json``.

Every command resolves credentials the same way, through :func:`load_settings`. The first
layer that has a value wins; a layer never half-overrides another for one field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcall import state as state_file
from vcall._logging import protect
from vcall.paths import Paths

#: Setting name → environment variable.
ENV_VARS: dict[str, str] = {
    "api_key": "VONAGE_API_KEY",
    "api_secret": "VONAGE_API_SECRET",
    "application_id": "VONAGE_APPLICATION_ID",
    "private_key": "VONAGE_PRIVATE_KEY",
    "signature_secret": "VONAGE_SIGNATURE_SECRET",
}


@dataclass(frozen=True)
class Settings:
    """Credentials and identifiers, each from the first layer that has it."""

    paths: Paths
    api_key: str | None = None
    # Secrets stay out of repr(), so printing or logging settings cannot show them.
    api_secret: str | None = field(default=None, repr=False)
    application_id: str | None = None
    private_key: str | None = field(default=None, repr=False)  # a path or PEM text
    signature_secret: str | None = field(default=None, repr=False)
    #: Setting name → the layer it came from: ``flag``, ``env``, ``.env`` or ``state``.
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False)


def _dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    # Imported only when there is a .env: it is a visible share of `vcall token`'s start-up,
    # which reads its settings here (bench/startup.py).
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_settings(paths: Paths | None = None, **flags: Any) -> Settings:
    """Resolve every setting: ``flags`` (None = unset) → env → ``.env`` → state file."""
    paths = paths or Paths.default()
    dotenv = _dotenv(Path(".env"))
    saved = state_file.load(paths)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, env in ENV_VARS.items():
        for layer, candidate in (
            ("flag", flags.get(name)),
            ("env", os.environ.get(env)),
            (".env", dotenv.get(env)),
            ("state", saved.get(name)),
        ):
            if candidate:
                values[name] = candidate
                sources[name] = layer
                break
    # Every credential vcall uses passes through here: keep each out of every log line.
    protect(values.get("api_secret"), values.get("signature_secret"))
    return Settings(paths=paths, sources=sources, **values)
