"""Sending webhooks as the Voice API does: the one sender, for the sandbox platform and for
``vcall replay``.

A :class:`Webhook` is one request: a GET with its fields as query parameters, or a POST of a
JSON body sent byte for byte. A :class:`Sender` sends it on an aiohttp session, with
``Authorization: Bearer <JWT>`` when it has a :data:`~vcall.signing.Signer` (the signature
covers the body, or the query as compact JSON), and reports each attempt as a
:class:`Delivery`. :meth:`Sender.deliver` retries once where Vonage would: no answer in time,
a reset connection, or HTTP 429/503/504.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from vcall._errors import WebhookFailed
from vcall.signing import Signer, query_payload

#: Answers that Vonage retries once before giving up on a URL.
RETRY_STATUSES = frozenset({429, 503, 504})


@dataclass(frozen=True)
class Webhook:
    """One request to send: a GET with ``query`` or a POST of ``body`` (sent byte for byte).

    ``path`` is joined to the sender's base URL; with no base URL it is the whole URL.
    """

    method: str
    path: str
    query: dict[str, str] | None = None
    body: bytes | None = None
    label: str = ""

    def signed_payload(self) -> bytes:
        """What a signature covers: the body, or the query parameters as compact JSON."""
        if self.body is not None:
            return self.body
        return query_payload((self.query or {}).items())


@dataclass(frozen=True)
class Delivery:
    """One attempt at one webhook and what came back (``status`` None: no answer)."""

    method: str
    path: str
    status: int | None
    raw: bytes = b""
    label: str = ""
    error: str | None = None
    #: Whether Vonage would try this webhook again after this attempt.
    retry: bool = False

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def body(self) -> Any:
        """The answer decoded as JSON, else its text."""
        try:
            return json.loads(self.raw)
        except ValueError:
            return self.raw.decode(errors="replace")

    @property
    def reason(self) -> str:
        """Why this attempt failed, in words."""
        return self.error or f"{self.label or 'webhook'} URL answered HTTP {self.status}"


class Sender:
    """Sends webhooks on one aiohttp session, signed when it has a signer."""

    def __init__(
        self, http: aiohttp.ClientSession, *, signer: Signer | None = None, base_url: str = ""
    ) -> None:
        self.http = http
        self.signer = signer
        self.base_url = base_url.rstrip("/")

    async def send(self, hook: Webhook, timeout: aiohttp.ClientTimeout | None = None) -> Delivery:
        """One attempt; a transport failure is a Delivery with no status and the reason."""
        headers = {"Content-Type": "application/json"} if hook.body is not None else {}
        if self.signer is not None:
            headers["Authorization"] = f"Bearer {self.signer(hook.signed_payload())}"
        done = {"method": hook.method, "path": hook.path, "label": hook.label}
        try:
            async with self.http.request(
                hook.method,
                self.base_url + hook.path,
                params=hook.query,
                data=hook.body,
                headers=headers,
                timeout=timeout or self.http.timeout,
            ) as resp:
                raw = await resp.read()
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            return Delivery(**done, status=None, error=_describe(exc), retry=True)
        except aiohttp.ClientError as exc:
            return Delivery(**done, status=None, error=_describe(exc))
        return Delivery(**done, status=resp.status, raw=raw, retry=resp.status in RETRY_STATUSES)

    async def deliver(
        self,
        hook: Webhook,
        timeout: aiohttp.ClientTimeout | None = None,
        attempts: list[Delivery] | None = None,
    ) -> Delivery:
        """Send ``hook``, once more when Vonage would retry; the 2xx attempt, or WebhookFailed.

        Every attempt is appended to ``attempts``.
        """
        for _try in range(2):
            done = await self.send(hook, timeout)
            if attempts is not None:
                attempts.append(done)
            if done.ok:
                return done
            if not done.retry:
                break
        raise WebhookFailed(done.reason)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
