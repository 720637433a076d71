"""Where vcall keeps its files: ``.vcall/`` in the working folder, or ``VCALL_HOME``.

A profile (``--profile NAME``, ``VCALL_PROFILE``) keeps a whole setup apart in
``.vcall/NAME/``: its state, key, events, page key and sandbox. Without one (or with
``default``) the files are in ``.vcall/`` itself, where they always were.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from vcall._errors import ConfigError

#: The environment variable naming the profile (``--profile`` sets it for the run).
PROFILE_VAR = "VCALL_PROFILE"
DEFAULT_PROFILE = "default"
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: Names already taken inside ``.vcall/`` by the default profile's own files.
_TAKEN = frozenset({"sandbox"})


def checked_profile(name: str) -> str:
    """``name`` if it can name a profile's folder; a ConfigError saying why not."""
    if not _PROFILE.fullmatch(name) or name in _TAKEN:
        raise ConfigError(
            f"profile {name!r} is not a usable name: letters, digits, '.', '_' and '-' "
            "(not starting with one of the last three), and not 'sandbox'"
        )
    return name


@dataclass(frozen=True)
class Paths:
    """Where vcall keeps its files (``.vcall/`` in the working folder unless ``VCALL_HOME``)."""

    home: Path

    @classmethod
    def default(cls) -> Paths:
        """The folder named by ``VCALL_HOME``, else ``./.vcall``; with a profile (other than
        ``default``), its folder inside that one."""
        home = Path(os.environ.get("VCALL_HOME", ".vcall"))
        profile = os.environ.get(PROFILE_VAR) or DEFAULT_PROFILE
        if profile != DEFAULT_PROFILE:
            home = home / checked_profile(profile)
        return cls(home)

    @property
    def state(self) -> Path:
        return self.home / "state.json"

    @property
    def private_key(self) -> Path:
        return self.home / "private.key"

    @property
    def events_db(self) -> Path:
        return self.home / "events.db"

    @property
    def sandbox(self) -> Path:
        return self.home / "sandbox"

    @property
    def runtime(self) -> Path:
        """Written by a running ``vcall serve`` (URL and page key), removed on exit."""
        return self.home / "serve.json"
