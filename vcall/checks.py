"""A verdict line: what was checked, whether it passed, and what fixes it (``vcall status``,
the token doctor of ``vcall token --decode``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    """One thing checked: ``ok`` True (fine), False (broken), None (not checked)."""

    name: str
    ok: bool | None
    detail: str
    #: The command (or step) that fixes a failure.
    fix: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The check for ``--json``: ``name``, ``ok``, ``detail``, ``fix``."""
        return asdict(self)


def passed(checks: Iterable[Check]) -> bool:
    """No check failed (one not made does not count)."""
    return all(check.ok is not False for check in checks)
