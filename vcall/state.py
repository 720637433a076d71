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


#: The numbers vcall bought (``{"msisdn", "country", "mode"}`` each): kept across teardowns, so
#: a number is only ever cancelled if vcall bought it, and one it bought is reused, not bought
#: again.
BOUGHT = "bought_numbers"


def bought(paths: Paths, mode: str) -> list[dict[str, str]]:
    """The numbers vcall bought in ``mode`` and has not cancelled."""
    return [n for n in load(paths).get(BOUGHT, []) if n.get("mode") == mode]


def remember_bought(paths: Paths, msisdn: str, country: str, mode: str) -> None:
    """Record a purchase at once, before anything else can fail."""
    data = load(paths)
    data[BOUGHT] = [*data.get(BOUGHT, []), {"msisdn": msisdn, "country": country, "mode": mode}]
    save(paths, data)


def forget_bought(paths: Paths, msisdn: str, mode: str) -> None:
    """The number is cancelled: no longer vcall's to release."""
    data = load(paths)
    data[BOUGHT] = [
        n for n in data.get(BOUGHT, []) if (n.get("msisdn"), n.get("mode")) != (msisdn, mode)
    ]
    if not data[BOUGHT]:
        del data[BOUGHT]
    if data:
        save(paths, data)
    else:
        clear(paths)
