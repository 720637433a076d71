"""Following a ``vcall serve``'s event stream (``vcall tail-events``).

:func:`follow` reads ``GET /api/events/stream`` and reconnects by itself with
``Last-Event-ID``, so a server restart loses no event and repeats none.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp

from vcall._errors import ConfigError, Forbidden, NotFound, Refused, RemoteError
from vcall.feed import READY, STREAM_PATH, FeedEvent
from vcall.paths import Paths
from vcall.remote import discovery

#: Reconnection delays: the first retry is quick, later ones back off to this.
RETRY_FIRST, RETRY_MAX = 0.2, 2.0
#: Longest line of the stream read: an event's line carries a webhook body (at most 64 KiB),
#: which escaping in JSON may make a few times longer.
MAX_LINE = 1024 * 1024


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


async def follow(
    locate: Callable[[], Source],
    *,
    last: int = 50,
    since: int | None = None,
    conversation: str | None = None,
    on_status: Callable[[str | None, str], None] = lambda message, url: None,
    read_timeout: float = 60.0,
) -> AsyncIterator[FeedEvent]:
    """Every event from the stream, live, forever (until the caller stops iterating).

    Starts with the newest ``last`` events, or everything after cursor ``since``. When the
    server goes away it retries, re-reading ``locate()``, and resumes after the last cursor
    it saw. ``on_status(message, url)`` reports the connection: a one-line ``message`` while
    the server is unreachable, None once connected. ``read_timeout`` must exceed the
    server's heartbeat interval: silence that long means the connection is dead. A server
    that refuses the key, or has no stream, ends it (:class:`Refused`, :class:`NotFound`).
    """
    cursor = since
    delay = RETRY_FIRST
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=read_timeout)
    async with aiohttp.ClientSession(timeout=timeout) as http:
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
                async with http.get(url + STREAM_PATH, params=params, headers=headers) as resp:
                    _check(resp.status, url)
                    on_status(None, url)
                    delay = RETRY_FIRST
                    async for event, data, event_id in _messages(resp.content):
                        if event == READY:
                            cursor = int(event_id)
                            continue
                        item = FeedEvent.from_json(json.loads(data))
                        cursor = item.id
                        yield item
                # The server ended the stream (it is shutting down): reconnect at once.
                continue
            except (ConfigError, RemoteError) as exc:  # no local server yet; a 5xx
                problem = str(exc)
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"vcall serve at {url} is unreachable ({_reason(exc)})"
            on_status(f"{problem}; retrying (Ctrl-C to stop)", url)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)


async def _messages(content: aiohttp.StreamReader) -> AsyncIterator[tuple[str, str, str]]:
    """Server-Sent Events as ``(event, data, id)``, per the HTML standard's parsing rules;
    comments (the server's heartbeats) and events with no data dispatch nothing."""
    event, data, event_id = "", [], ""
    while raw := await content.readline(max_line_length=MAX_LINE):
        line = raw.decode(errors="replace").rstrip("\r\n")
        if not line:
            if data:
                yield event or "message", "\n".join(data), event_id
            event, data = "", []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            event_id = value


def _check(status: int, url: str) -> None:
    """Raise for answers that are not a stream: retrying cannot fix a refused key or a server
    with no stream; anything else (:class:`RemoteError`) is worth retrying."""
    if status == 200:
        return
    if status in (Refused.status, Forbidden.status):
        raise Refused(f"vcall serve at {url} refused the page key (HTTP {status})")
    if status == NotFound.status:
        raise NotFound(f"{url} has no event stream: is it vcall serve?")
    raise RemoteError(f"vcall serve at {url} answered HTTP {status}")


def _reason(exc: Exception) -> str:
    """A short, human reason for a transport failure."""
    text = str(exc).strip()
    name = type(exc).__name__
    if "refused" in text.lower():
        return "connection refused"
    return f"{name}: {text}" if text else name
