"""How the simulated platform reaches an application's webhooks, the way Vonage does.

:func:`resolve_route` reads, from the sandbox state, everything one call needs: the answer,
event and fallback URLs with their methods and timeouts, whether callbacks are signed (and
with which secret), and the application's users. :class:`CallWebhooks` then makes one call's
requests through :class:`vcall.delivery.Sender` (signed, one retry where Vonage retries), and
falls back to the ``fallback_answer_url`` (also tried twice) when the answer URL fails.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import aiohttp

from vcall._errors import ConfigError, WebhookFailed
from vcall.delivery import Delivery, Sender, Webhook
from vcall.sandbox.account import SandboxState
from vcall.signing import Signer, sign_with

_DEFAULT_CONNECT_MS = 1000
_ANSWER_SOCKET_MS = 5000
_EVENT_SOCKET_MS = 10000


@dataclass(frozen=True)
class HookUrl:
    """One of an application's webhook URLs, with its method and timeouts (seconds)."""

    address: str
    http_method: str = "POST"
    connection_timeout: float = _DEFAULT_CONNECT_MS / 1000
    socket_timeout: float = _EVENT_SOCKET_MS / 1000

    @classmethod
    def parse(cls, data: Any, *, method: str, socket_ms: int) -> HookUrl | None:
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
    answer: HookUrl
    event: HookUrl
    fallback: HookUrl | None = None
    #: The account's signature secret when the application has ``signed_callbacks``.
    signature_secret: str | None = None
    users: frozenset[str] = frozenset()

    def signer(self) -> Signer | None:
        """How this application's webhooks are signed (None: they are not)."""
        if not self.signature_secret:
            return None
        return sign_with(
            self.signature_secret, api_key=self.api_key, application_id=self.application_id
        )


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
    answer = HookUrl.parse(hooks.get("answer_url"), method="GET", socket_ms=_ANSWER_SOCKET_MS)
    event = HookUrl.parse(hooks.get("event_url"), method="POST", socket_ms=_EVENT_SOCKET_MS)
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
        fallback=HookUrl.parse(
            hooks.get("fallback_answer_url"), method="GET", socket_ms=_ANSWER_SOCKET_MS
        ),
        signature_secret=account.signature_secret if voice.get("signed_callbacks") else None,
        users=frozenset(u["name"] for u in state.users(app["id"])),
    )


class CallWebhooks:
    """Sends one call's webhooks and remembers every attempt."""

    def __init__(self, http: aiohttp.ClientSession, route: Route) -> None:
        self.route = route
        self.sender = Sender(http, signer=route.signer())
        self.deliveries: list[Delivery] = []

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

    async def event(self, body: dict[str, Any], hook: HookUrl | None = None) -> str | None:
        """Deliver one event; returns the failure reason, or None when it was acknowledged."""
        try:
            await self._deliver("event", hook or self.route.event, body)
        except WebhookFailed as failure:
            return str(failure)
        return None

    async def _ncco(self, kind: str, hook: HookUrl, params: dict[str, Any]) -> list[Any]:
        answer = await self._deliver(kind, hook, params)
        try:
            ncco = json.loads(answer.raw)
        except ValueError:
            raise WebhookFailed(f"{kind} URL did not return JSON") from None
        if not isinstance(ncco, list):
            raise WebhookFailed(f"{kind} URL did not return an NCCO (a JSON array)")
        return ncco

    async def _deliver(self, kind: str, hook: HookUrl, params: dict[str, Any]) -> Delivery:
        """The request for ``params`` as ``hook`` takes them, delivered as Vonage would."""
        if hook.http_method == "GET":
            request = Webhook("GET", hook.address, query={k: _text(v) for k, v in params.items()})
        else:
            body = json.dumps(params, separators=(",", ":")).encode()
            request = Webhook(hook.http_method, hook.address, body=body)
        request = replace(request, label=kind)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=hook.connection_timeout, sock_read=hook.socket_timeout
        )
        return await self.sender.deliver(request, timeout, self.deliveries)


def _text(value: Any) -> str:
    """A field as a query-string value (objects as compact JSON)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"))
