"""Placing a simulated call on a running ``vcall serve`` (what ``vcall call`` does).

The server is found through :mod:`vcall.remote.discovery` (its URL and page key); the call goes to
``POST /sandbox/calls`` with ``Authorization: Bearer <page key>``, then
``GET /sandbox/calls/{id}?wait=…`` is repeated until the call has ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp

from vcall._errors import Refused, RemoteError, for_answer

if TYPE_CHECKING:
    from vcall.remote.discovery import ServerInfo

#: Seconds each status request may wait on the server (below its 60 s cap).
POLL_WAIT = 30


async def place_call(
    server: ServerInfo,
    call: dict[str, Any],
    *,
    wait: bool = True,
    on_placed: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Place ``call`` (the ``/sandbox/calls`` fields) and, if ``wait``, wait for its end.

    ``on_placed(summary)`` runs as soon as the server has accepted the call.
    """
    headers = {"Authorization": f"Bearer {server.key}"}
    try:
        async with aiohttp.ClientSession(server.url, headers=headers) as http:
            async with http.post("/sandbox/calls", json=call) as resp:
                summary = await _answer(resp)
            if on_placed is not None:
                on_placed(summary)
            path = f"/sandbox/calls/{summary['conversation_uuid']}"
            while wait and not summary["ended"]:
                async with http.get(path, params={"wait": str(POLL_WAIT)}) as resp:
                    summary = await _answer(resp)
            return summary
    except aiohttp.ClientConnectionError as exc:
        raise RemoteError(
            f"cannot reach vcall serve at {server.url} ({exc}); is it still running?"
        ) from None


async def _answer(resp: Any) -> dict[str, Any]:
    """The JSON of a 2xx answer; the server's own message otherwise."""
    try:
        body = await resp.json(content_type=None)
    except ValueError:
        body = None
    if resp.status < 300 and isinstance(body, dict):
        return body
    reason = body.get("error") if isinstance(body, dict) else None
    if resp.status == Refused.status:
        reason = "vcall serve refused the page key; restart it or check VCALL_HOME"
    raise for_answer(resp.status, reason or f"vcall serve answered HTTP {resp.status}")


#: How the platform words the errors that mean a webhook did not take a request, the cause
#: first: without an NCCO the call cannot go on, and its events then fail the same way.
_UNDELIVERED = ("no NCCO for the call", "event not delivered")


def call_failure(summary: dict[str, Any], asked: str | None = None) -> str | None:
    """Why an ended call counts as failed, or None: its outcome is ``failed`` (unless a
    stand-in was asked to play that), or a webhook was not delivered."""
    if not summary.get("ended"):
        return None
    errors = list(dict.fromkeys(str(e) for e in summary.get("errors", [])))  # each once
    errors.sort(key=lambda e: not e.startswith(_UNDELIVERED[0]))
    if summary.get("outcome") == "failed" and asked != "failed":
        return "; ".join(errors) or "its outcome is failed"
    undelivered = [e for e in errors if e.startswith(_UNDELIVERED)]
    return "; ".join(undelivered) or None
