"""How a running ``vcall serve`` is found: ``.vcall/serve.json`` (0600), removed on exit,
and the page key kept in ``.vcall/page.key`` (0600) so it survives restarts."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from vcall._errors import ConfigError
from vcall._files import write_private
from vcall._logging import protect
from vcall.keygen import new_page_key

if TYPE_CHECKING:
    from vcall.paths import Paths


#: The header ``/healthz`` names the server in (its :attr:`ServerInfo.instance`).
INSTANCE_HEADER = "X-Vcall-Instance"


@dataclass(frozen=True)
class ServerInfo:
    """Where the local server listens and the key its API needs."""

    url: str
    key: str
    pid: int
    #: What its ``/healthz`` answers as ``instance``.
    instance: str = ""
    #: Where Vonage reaches it (a tunnel, ``--public-url``), when not ``url`` itself.
    public_url: str | None = None


def page_key(paths: Paths) -> str:
    """The saved page key, created on first use."""
    path = paths.home / "page.key"
    with contextlib.suppress(FileNotFoundError):
        key = path.read_text().strip()
        if key:
            protect(key)
            return key
    key = new_page_key()
    write_private(path, key + "\n")
    protect(key)
    return key


def announce(
    paths: Paths, url: str, key: str, *, instance: str = "", public_url: str | None = None
) -> None:
    """Record that this process serves ``url`` (and, through a tunnel, ``public_url``)."""
    info = ServerInfo(url, key, os.getpid(), instance, public_url)
    write_private(paths.runtime, json.dumps(asdict(info)))


def withdraw(paths: Paths) -> None:
    """Remove the record if it is still ours."""
    with contextlib.suppress(FileNotFoundError, ConfigError):
        if find(paths).pid == os.getpid():
            paths.runtime.unlink()


def find(paths: Paths) -> ServerInfo:
    """The local server's URL and key, or a ConfigError explaining how to start one."""
    try:
        data = json.loads(paths.runtime.read_text())
        public_url = data.get("public_url")
        return ServerInfo(
            str(data["url"]),
            str(data["key"]),
            int(data["pid"]),
            str(data.get("instance", "")),
            str(public_url) if public_url else None,
        )
    except FileNotFoundError:
        raise ConfigError(
            "no local vcall serve found: start one with `vcall serve`, or pass --url"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{paths.runtime} is unreadable ({exc}); restart vcall serve") from None
