"""What ``vcall setup`` provisioned, kept in ``.vcall/state.json`` (0600, atomic writes)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from vcall._errors import ConfigError
from vcall._files import write_private

if TYPE_CHECKING:
    from vcall.config import Paths


def load(paths: Paths) -> dict[str, Any]:
    """The saved state, or ``{}`` when nothing has been set up yet."""
    try:
        text = paths.state.read_text()
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{paths.state} is not valid JSON ({exc}); remove it or run `vcall setup`"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"{paths.state} should hold a JSON object; remove it or run `vcall setup`"
        )
    return data


def save(paths: Paths, data: dict[str, Any]) -> None:
    """Replace the saved state atomically (mode 0600)."""
    write_private(paths.state, json.dumps(data, indent=2, sort_keys=True) + "\n")


def clear(paths: Paths) -> None:
    """Forget the saved state (a missing file is fine)."""
    paths.state.unlink(missing_ok=True)
