"""The webhook journal: what a running ``vcall serve`` changed on the application, to undo it.

Before ``vcall serve`` points the application's webhooks elsewhere (at a tunnel, at
``--public-url``, or in the sandbox at itself), it writes the webhooks the application had to
``.vcall/webhooks.json`` (atomically, 0600), and only then changes them; when it stops it puts
them back and removes the file. For as long as it runs it holds an exclusive ``flock`` on
``.vcall/webhooks.lock``: the kernel drops that lock when the process ends, however it ends, so
a journal whose lock is free was left by a ``vcall serve`` that could not clean up (``kill -9``,
a power cut). The next ``vcall serve``, ``vcall status`` or ``vcall setup`` takes the lock and
restores it (:mod:`vcall.repoint`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcall._errors import ConfigError
from vcall._files import ensure_private_dir, read_json_object, write_private
from vcall.gateway import WebhookUrls

if TYPE_CHECKING:
    from vcall.paths import Paths

_VERSION = 1


@dataclass(frozen=True)
class Entry:
    """One change to an application's webhooks that has not been undone yet."""

    mode: str
    application_id: str
    #: What the application had before; what it is put back to.
    previous: WebhookUrls
    #: What it was changed to (restoring only if it still has these).
    pointed_at: WebhookUrls
    #: The ``vcall serve`` that made the change.
    pid: int
    #: The tunnel it started, if any: ``{"pid": …, "argv": […]}``.
    tunnel: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The entry as it is written."""
        return {"version": _VERSION, **asdict(self)}


def journal_path(paths: Paths) -> Path:
    """``.vcall/webhooks.json``."""
    return paths.home / "webhooks.json"


def lock_path(paths: Paths) -> Path:
    """``.vcall/webhooks.lock``: held by the process the journal belongs to."""
    return paths.home / "webhooks.lock"


def load(paths: Paths) -> Entry | None:
    """The journal's entry, or None when nothing is waiting to be undone."""
    data = read_json_object(journal_path(paths), f"remove {journal_path(paths)} once checked")
    if data is None:
        return None
    try:
        return Entry(
            mode=str(data["mode"]),
            application_id=str(data["application_id"]),
            previous=WebhookUrls(**data["previous"]),
            pointed_at=WebhookUrls(**data["pointed_at"]),
            pid=int(data["pid"]),
            tunnel=data.get("tunnel"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{journal_path(paths)} is unreadable ({exc}); check the application's webhooks "
            "with `vcall status`, then remove it"
        ) from None


def save(paths: Paths, entry: Entry) -> None:
    """Write the entry (atomically, fsynced) before the change it describes is made."""
    write_private(journal_path(paths), json.dumps(entry.as_json(), indent=2) + "\n")


def clear(paths: Paths) -> None:
    """Forget the entry: the change is undone (or was never made)."""
    journal_path(paths).unlink(missing_ok=True)


class Lease:
    """The exclusive lock on the journal, held by one process at a time.

    ``vcall serve`` holds it while it runs; recovery takes it to restore a stale entry.
    The descriptor is close-on-exec: a tunnel started meanwhile does not inherit it.
    """

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def take(cls, paths: Paths) -> Lease | None:
        """The lock if no other process holds it, else None (its owner is alive)."""
        ensure_private_dir(paths.home)
        fd = os.open(lock_path(paths), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return cls(fd)

    def release(self) -> None:
        """Let the next process take it (idempotent)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
