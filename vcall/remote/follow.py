"""Following a ``vcall serve``'s event stream (``vcall tail-events``).

:func:`follow` reads ``GET /api/events/stream`` and reconnects by itself with
``Last-Event-ID``, so a server restart loses no event and repeats none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from vcall._errors import ConfigError
from vcall.feed import READY, STREAM_PATH, FeedEvent
from vcall.paths import Paths
from vcall.remote import discovery

#: Reconnection delays: the first retry is quick, later ones back off to this.
RETRY_FIRST, RETRY_MAX = 0.2, 2.0


@dataclass(frozen=True)
class Source:
    """A server to follow: its base URL and page key."""

    url: str
    key: str


def locator(url: str | None, key: str | None, paths: Paths) -> Callable[[], Source]:
    """Where to connect, asked again on every reconnection.

    With ``url`` the answer never changes (``key`` defaults to the local server's when it is
    the same URL). Without it, the local ``vcall serve`` is looked up in its serve.json each
    time, so a restart on another port is followed; a missing file raises ConfigError.
    """
    if url is None:

        def local() -> Source:
            info = discovery.find(paths)
            return Source(info.url, info.key)

        return local
    url = url.rstrip("/")
    if key is None:
        try:
            info = discovery.find(paths)
        except ConfigError:
            info = None
        if info is None or info.url.rstrip("/") != url:
            raise ConfigError(
                f"no page key for {url}: pass --key (the server keeps it in .vcall/page.key)"
            )
        key = info.key
    fixed = Source(url, key)
    return lambda: fixed


def follow(
    locate: Callable[[], Source],
    *,
    last: int = 50,
    since: int | None = None,
    conversation: str | None = None,
    on_status: Callable[[str | None, str], None] = lambda message, url: None,
    read_timeout: float = 60.0,
) -> Iterator[FeedEvent]:
    """Every event from the stream, live, forever (until the caller stops iterating).

    Starts with the newest ``last`` events, or everything after cursor ``since``. When the
    server goes away it retries, re-reading ``locate()``, and resumes after the last cursor
    it saw. ``on_status(message, url)`` reports the connection: a one-line ``message`` while
    the server is unreachable, None once connected. ``read_timeout`` must exceed the
    server's heartbeat interval: silence that long means the connection is dead.
    """
    import httpx
    from httpx_sse import connect_sse

    cursor = since
    delay = RETRY_FIRST
    timeout = httpx.Timeout(5.0, read=read_timeout)
    with httpx.Client(timeout=timeout) as http:
        while True:
            url = ""
            try:
                source = locate()
                url = source.url
                params = {"conversation": conversation} if conversation else {}
                headers = {"Authorization": f"Bearer {source.key}"}
                if cursor is None:
                    params["last"] = str(last)
                else:
                    headers["Last-Event-ID"] = str(cursor)
                with connect_sse(
                    http, "GET", url + STREAM_PATH, params=params, headers=headers
                ) as stream:
                    _check(stream.response, url)
                    on_status(None, url)
                    delay = RETRY_FIRST
                    for message in stream.iter_sse():
                        if not message.data:  # a heartbeat: nothing to dispatch
                            continue
                        if message.event == READY:
                            cursor = int(message.id)
                            continue
                        item = FeedEvent.from_json(message.json())
                        cursor = item.id
                        yield item
                # The server ended the stream (it is shutting down): reconnect at once.
                continue
            except _Unavailable as exc:
                problem = str(exc)
            except ConfigError as exc:
                if url:  # the server refused us: retrying will not help
                    raise
                problem = str(exc)  # no local server yet
            except httpx.TransportError as exc:
                problem = f"vcall serve at {url} is unreachable ({_reason(exc)})"
            on_status(f"{problem}; retrying (Ctrl-C to stop)", url)
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)


class _Unavailable(Exception):
    """The server answered, but not with a stream (yet): worth retrying."""


def _check(response: Any, url: str) -> None:
    """Raise ConfigError for answers that retrying cannot fix, _Unavailable for the rest."""
    status = response.status_code
    if status == 200:
        return
    if status in (401, 403):
        raise ConfigError(f"vcall serve at {url} refused the page key (HTTP {status})")
    if status == 404:
        raise ConfigError(f"{url} has no event stream: is it vcall serve?")
    raise _Unavailable(f"vcall serve at {url} answered HTTP {status}")


def _reason(exc: Exception) -> str:
    """A short, human reason for a transport failure."""
    text = str(exc).strip()
    name = type(exc).__name__
    if "refused" in text.lower():
        return "connection refused"
    return f"{name}: {text}" if text else name
