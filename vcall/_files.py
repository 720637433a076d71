"""Private files: atomic writes with owner-only permissions, and JSON documents read back."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from vcall._errors import ConfigError


def read_json_object(path: Path, remedy: str) -> dict[str, Any] | None:
    """The JSON object in ``path``, None if there is no file; a ConfigError naming ``remedy``
    (e.g. "run `vcall setup`") if it is not a JSON object."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); {remedy}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} should hold a JSON object; {remedy}")
    return data


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):
        path.chmod(0o700)
    return path


def write_private(path: Path, data: str | bytes) -> None:
    """Atomically replace ``path`` with ``data``, mode 0600.

    The temporary file is created 0600 in the same folder, fsynced, then renamed over the
    target, so a reader sees either the old file or the whole new one, never a torn write.
    """
    ensure_private_dir(path.parent)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
