"""The one way to build ``vcall serve``'s aiohttp application (also used by the tests)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from vcall import client_sdk
from vcall._errors import NotAllowed, NotFound, StoreError
from vcall.keygen import new_page_key
from vcall.ncco import DEFAULT_TALK, DEFAULT_USER, NccoBuilder
from vcall.paths import Paths
from vcall.remote.discovery import INSTANCE_HEADER
from vcall.sandbox.voice import routes as platform_routes
from vcall.store import DEFAULT_DURABILITY, EventStore, open_store
from vcall.tokens import DEFAULT_TTL
from vcall.web import api, inspector, openapi, page, signed, voice
from vcall.web.access import PAGE_KEY, ensure_guarded, guarded
from vcall.web.answers import failure
from vcall.web.body import MAX_BODY
from vcall.web.hub import EventHub
from vcall.web.keys import HUB, INSTANCE, LOG, NCCO, STORE
from vcall.web.log import WebhookLog


@dataclass(frozen=True)
class ServeOptions:
    """What ``vcall serve`` is configured with."""

    #: A SQLite file, or a ``postgresql://`` URL (kept out of repr(): it may hold a password).
    store: Path | str = field(repr=False)
    talk: str = DEFAULT_TALK
    user: str = DEFAULT_USER
    quiet: bool = False
    # Secrets stay out of repr(), so printing or logging the options cannot leak them.
    page_key: str = field(default_factory=new_page_key, repr=False)
    #: HS256 secret Vonage signs webhooks with; None: /voice/* is not verified.
    signature_secret: str | None = field(default=None, repr=False)
    #: False (``--no-verify``) turns signature checks off even with a secret.
    verify_signatures: bool = True
    #: What an acknowledged event survives: a key of :data:`vcall.store.DURABILITY`.
    durability: str = DEFAULT_DURABILITY
    #: Sandbox: simulate calls (``/sandbox/*``) and serve the Client SDK's side (``/v2/rtc/``…).
    sandbox: bool = False
    paths: Paths = field(default_factory=Paths.default)
    #: Lifetime of the page's client JWT (it renews it before then).
    token_ttl: int = DEFAULT_TTL
    #: Live: the region whose Client SDK hosts the page talks to (``--region``).
    region: str = client_sdk.REGIONS[0]
    #: Laid over the Client SDK's ``ClientConfig`` the page is given (tests: another host).
    client_config: dict[str, Any] = field(default_factory=dict)
    #: Names this server on ``/healthz`` (:data:`INSTANCE_HEADER`): a request through a public
    #: URL that comes back with it reached this very server (a tunnel's round trip, status).
    instance: str = field(default_factory=lambda: secrets.token_hex(8))


async def _not_found(request: web.Request) -> web.Response:
    raise NotFound(f"nothing at {request.path}")


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: the server is up (200), or up but degraded (503: the store cannot take
    events now, and the server is reconnecting to it; webhooks get 503 meanwhile); and
    (``X-Vcall-Instance``) which one it is."""
    if request.method not in ("GET", "HEAD"):
        return failure(NotAllowed(f"method {request.method} not allowed"), Allow="GET")
    instance = {INSTANCE_HEADER: request.app[INSTANCE]}
    problem = request.app[STORE].health()
    if problem is not None:
        return web.json_response(
            {"ok": False, "status": "degraded", "store": problem},
            status=503,
            headers={**instance, "Retry-After": str(StoreError.retry_after)},
        )
    return web.json_response({"ok": True}, headers=instance)


def create_app(
    options: ServeOptions, *, store: EventStore | None = None, log: WebhookLog | None = None
) -> web.Application:
    """Build the server: webhooks, health, and the store opened/closed with the app."""
    secret = options.signature_secret if options.verify_signatures else None
    verifier = signed.WebhookVerifier(secret) if secret else None
    # No middleware: keyed routes are registered guarded (vcall.web.access), webhooks bare.
    app = web.Application(client_max_size=MAX_BODY)
    app[PAGE_KEY] = options.page_key
    app[INSTANCE] = options.instance
    app[STORE] = store or open_store(options.store, options.durability)
    app[NCCO] = NccoBuilder(options.talk, options.user)
    app[HUB] = EventHub(app[STORE])
    app[LOG] = log or WebhookLog(quiet=options.quiet)

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        await app[STORE].open()
        yield
        await app[HUB].close()
        await app[STORE].close()

    app.cleanup_ctx.append(store_ctx)
    app.router.add_route("*", "/healthz", healthz)  # every method: none falls to the key
    voice.add_routes(app, verifier)
    api.add_routes(app)
    inspector.add_routes(app, options.paths, options.signature_secret)
    if options.sandbox:
        for method, path, handler in platform_routes.attach(app, options.paths, options.page_key):
            app.router.add_route(method, path, guarded(handler))
    else:
        for path in platform_routes.PATHS:
            app.router.add_route("*", path, guarded(platform_routes.live_mode))
    page.add_routes(
        app,
        page.PageConfig(
            options.paths,
            options.user,
            options.sandbox,
            options.token_ttl,
            options.region,
            options.client_config,
        ),
    )
    openapi.add_routes(app)
    # Any other path needs the key too (401 without it, so nothing is revealed), then is a 404.
    app.router.add_route("*", "/{path:.*}", guarded(_not_found))
    # Checked as the server starts, so routes added after this are checked too.
    app.on_startup.append(_all_keyed_routes_guarded)
    return app


async def _all_keyed_routes_guarded(app: web.Application) -> None:
    ensure_guarded(app)
