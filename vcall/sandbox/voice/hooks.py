"""How the simulated platform reaches an application's webhooks, the way Vonage does.

:func:`resolve_route` reads, from the sandbox state, everything one call needs: the answer,
event and fallback URLs with their methods and timeouts, whether callbacks are signed (and
with which secret), and the application's users. :class:`Webhooks` then makes the requests:
signed with :func:`vcall.signing.sign`, one retry on a timeout, a reset or HTTP 429/503/504,
and the ``fallback_answer_url`` (also tried twice) when the answer URL fails.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vcall._errors import ConfigError, WebhookFailed
from vcall.signing import query_payload, sign

if TYPE_CHECKING:
    import aiohttp

    from vcall.sandbox.account import SandboxState

#: Answers that Vonage retries once before giving up on a URL.
RETRY_STATUSES = frozenset({429, 503, 504})
_DEFAULT_CONNECT_MS = 1000
_ANSWER_SOCKET_MS = 5000
_EVENT_SOCKET_MS = 10000


@dataclass(frozen=True)
class Webhook:
    """One webhook URL with its method and timeouts (seconds)."""

    address: str
    http_method: str = "POST"
    connection_timeout: float = _DEFAULT_CONNECT_MS / 1000
    socket_timeout: float = _EVENT_SOCKET_MS / 1000

    @classmethod
    def parse(cls, data: Any, *, method: str, socket_ms: int) -> Webhook | None:
        """A webhook from Applications API JSON (None when it has no address)."""
        if not isinstance(data, dict) or not data.get("address"):
            return None
        # Vonage's spec says connection_timeout; the Python SDK's model says connect_timeout.
        connect = data.get("connection_timeout", data.get("connect_timeout")) or _DEFAULT_CONNECT_MS
        return cls(
            address=str(data["address"]),
            http_method=str(data.get("http_method") or method).upper(),
            connection_timeout=float(connect) / 1000,
            socket_timeout=float(data.get("socket_timeout") or socket_ms) / 1000,
        )


@dataclass(frozen=True)
class Route:
    """Where a call's webhooks go and how they are signed."""

    application_id: str
    api_key: str
    answer: Webhook
    event: Webhook
    fallback: Webhook | None = None
    #: The account's signature secret when the application has ``signed_callbacks``.
    signature_secret: str | None = None
    users: frozenset[str] = frozenset()


def resolve_route(state: SandboxState, to: str) -> Route:
    """The route of a call to number ``to``, from the application it is linked to."""
    app = state.application_for_number(to)
    if app is None:
        owned = ", ".join(n["msisdn"] for n in state.numbers()) or "none"
        raise ConfigError(
            f"number {to} is not linked to a sandbox application (owned: {owned}); "
            "run `vcall setup` first"
        )
    voice = app.get("capabilities", {}).get("voice", {})
    hooks = voice.get("webhooks", {})
    answer = Webhook.parse(hooks.get("answer_url"), method="GET", socket_ms=_ANSWER_SOCKET_MS)
    event = Webhook.parse(hooks.get("event_url"), method="POST", socket_ms=_EVENT_SOCKET_MS)
    if answer is None or event is None:
        raise ConfigError(
            f"application {app['id']} has no voice answer_url/event_url; run `vcall setup`"
        )
    account = state.account
    return Route(
        application_id=app["id"],
        api_key=account.api_key,
        answer=answer,
        event=event,
        fallback=Webhook.parse(
            hooks.get("fallback_answer_url"), method="GET", socket_ms=_ANSWER_SOCKET_MS
        ),
        signature_secret=account.signature_secret if voice.get("signed_callbacks") else None,
        users=frozenset(u["name"] for u in state.users(app["id"])),
    )


@dataclass(frozen=True)
class Delivery:
    """One attempt at one webhook, as reported in a call's summary."""

    kind: str  # answer, fallback, event
    method: str
    url: str
    status: int | None
    error: str | None = None


@dataclass
class Webhooks:
    """Sends one call's webhooks and remembers every attempt."""

    http: aiohttp.ClientSession
    route: Route
    deliveries: list[Delivery] = field(default_factory=list)

    async def ncco(self, params: dict[str, Any]) -> list[Any]:
        """The NCCO from the answer URL, else from the fallback URL; raises WebhookFailed."""
        try:
            return await self._ncco("answer", self.route.answer, params)
        except WebhookFailed as failure:
            if self.route.fallback is None:
                raise
            retry = {
                **params,
                "reason": str(failure),
                "original_request": {"url": self.route.answer.address, "type": "answer_url"},
            }
            return await self._ncco("fallback", self.route.fallback, retry)

    async def event(self, body: dict[str, Any], hook: Webhook | None = None) -> str | None:
        """Deliver one event; returns the failure reason, or None when it was acknowledged."""
        try:
            await self._deliver("event", hook or self.route.event, body)
        except WebhookFailed as failure:
            return str(failure)
        return None

    async def _ncco(self, kind: str, hook: Webhook, params: dict[str, Any]) -> list[Any]:
        body = await self._deliver(kind, hook, params)
        try:
            ncco = json.loads(body)
        except ValueError:
            raise WebhookFailed(f"{kind} URL did not return JSON") from None
        if not isinstance(ncco, list):
            raise WebhookFailed(f"{kind} URL did not return an NCCO (a JSON array)")
        return ncco

    async def _deliver(self, kind: str, hook: Webhook, params: dict[str, Any]) -> bytes:
        """One request, plus one retry when Vonage would retry; the 2xx body or WebhookFailed."""
        import aiohttp

        reason = "not sent"
        for _attempt in range(2):
            try:
                status, body = await self._send(hook, params)
            except (TimeoutError, aiohttp.ClientConnectionError) as exc:
                reason, retry = _describe(exc), True
                self.deliveries.append(Delivery(kind, hook.http_method, hook.address, None, reason))
            except aiohttp.ClientError as exc:
                reason, retry = _describe(exc), False
                self.deliveries.append(Delivery(kind, hook.http_method, hook.address, None, reason))
            else:
                self.deliveries.append(Delivery(kind, hook.http_method, hook.address, status))
                if 200 <= status < 300:
                    return body
                reason, retry = f"{kind} URL answered HTTP {status}", status in RETRY_STATUSES
            if not retry:
                break
        raise WebhookFailed(reason)

    async def _send(self, hook: Webhook, params: dict[str, Any]) -> tuple[int, bytes]:
        import aiohttp

        headers: dict[str, str] = {}
        kwargs: dict[str, Any]
        if hook.http_method == "GET":
            query = {k: _text(v) for k, v in params.items()}
            payload = query_payload(query.items())
            kwargs = {"params": query}
        else:
            payload = json.dumps(params, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
            kwargs = {"data": payload}
        if self.route.signature_secret:
            token = sign(
                self.route.signature_secret,
                payload,
                api_key=self.route.api_key,
                application_id=self.route.application_id,
            )
            headers["Authorization"] = f"Bearer {token}"
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=hook.connection_timeout, sock_read=hook.socket_timeout
        )
        async with self.http.request(
            hook.http_method, hook.address, headers=headers, timeout=timeout, **kwargs
        ) as resp:
            return resp.status, await resp.read()


def _text(value: Any) -> str:
    """A field as a query-string value (objects as compact JSON)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
