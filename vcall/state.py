"""What ``vcall setup`` provisioned, kept in ``.vcall/state.json`` (0600, atomic writes)."""

from __future__ import annotations

import json
from typing import Any

from vcall._files import read_json_object, write_private
from vcall.paths import Paths


def load(paths: Paths) -> dict[str, Any]:
    """The saved state, or ``{}`` when nothing has been set up yet."""
    return read_json_object(paths.state, "remove it or run `vcall setup`") or {}


def save(paths: Paths, data: dict[str, Any]) -> None:
    """Replace the saved state atomically (mode 0600)."""
    write_private(paths.state, json.dumps(data, indent=2, sort_keys=True) + "\n")


def clear(paths: Paths) -> None:
    """Forget the saved state (a missing file is fine)."""
    paths.state.unlink(missing_ok=True)
