"""Where vcall keeps its files: ``.vcall/`` in the working folder, or ``VCALL_HOME``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    """Where vcall keeps its files (``.vcall/`` in the working folder unless ``VCALL_HOME``)."""

    home: Path

    @classmethod
    def default(cls) -> Paths:
        """The folder named by ``VCALL_HOME``, else ``./.vcall``."""
        return cls(Path(os.environ.get("VCALL_HOME", ".vcall")))

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
