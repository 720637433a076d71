"""Requests to a ``vcall serve`` from outside, as Vonage would make them.

:func:`round_trip` asks a URL (a tunnel's, ``--public-url``, the application's) for
``/healthz`` and compares the instance that comes back (``X-Vcall-Instance``) with the server's own: the same
one means the request went through to this very server, not to another process on the port
or to nothing. :func:`fetch_ncco` requests the answer URL, signed as the Voice API signs it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import aiohttp

from vcall.remote.discovery import INSTANCE_HEADER
from vcall.signing import query_payload, sign

#: Seconds one probe request may take.
REQUEST_TIMEOUT = 5.0
#: Between two attempts while a tunnel comes up.
RETRY_EVERY = 0.5


async def _instance_at(http: aiohttp.ClientSession, url: str) -> tuple[str | None, str]:
    """The instance answering ``{url}/healthz``, or None and what came back instead."""
    try:
        async with http.get(f"{url}/healthz", allow_redirects=False) as resp:
            await resp.read()
            found = resp.headers.get(INSTANCE_HEADER)
            if resp.status != 200:
                return None, f"{url}/healthz answered HTTP {resp.status}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return None, f"{url} is unreachable ({type(exc).__name__})"
    if not found:
        return None, f"{url}/healthz is not a vcall serve's"
    return found, ""


async def round_trip(url: str, instance: str, *, within: float = 0.0) -> str | None:
    """None when ``url`` leads to the server named ``instance``; otherwise why not.

    ``within`` seconds are given to a tunnel that says it "may take some time to be
    reachable": the request is repeated until then.
    """
    deadline = time.monotonic() + within
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while True:
            found, why = await _instance_at(http, url.rstrip("/"))
            if found == instance:
                return None
            if found is not None:
                return f"{url} leads to another vcall serve, not this one"
            if time.monotonic() + RETRY_EVERY > deadline:
                return why
            await asyncio.sleep(RETRY_EVERY)  # the tunnel is still coming up


async def fetch_ncco(
    answer_url: str,
    *,
    secret: str | None,
    api_key: str = "",
    application_id: str = "",
    number: str = "",
) -> tuple[Any, str | None]:
    """GET the answer URL with a call's parameters (signed when ``secret`` is given): the
    JSON it returned, or None and why not."""
    query = {
        "from": "441234567890",
        "to": number,
        "uuid": uuid.uuid4().hex,
        "conversation_uuid": f"CON-{uuid.uuid4()}",
    }
    headers = {}
    if secret:
        token = sign(
            secret, query_payload(query.items()), api_key=api_key, application_id=application_id
        )
        headers["Authorization"] = f"Bearer {token}"
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(answer_url, params=query, headers=headers) as resp,
        ):
            text = await resp.text(errors="replace")
            if resp.status != 200:
                return None, f"{answer_url} answered HTTP {resp.status}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return None, f"{answer_url} is unreachable ({type(exc).__name__})"
    try:
        return json.loads(text), None
    except ValueError:
        return None, f"{answer_url} did not answer JSON"
