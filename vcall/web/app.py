"""The one way to build ``vcall serve``'s aiohttp application (also used by the tests)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from vcall._errors import VcallError
from vcall.config import Paths
from vcall.ncco import DEFAULT_TALK, DEFAULT_USER, NccoBuilder
from vcall.sandbox import platform_api
from vcall.store import DEFAULT_DURABILITY, EventStore, open_store
from vcall.tokens import DEFAULT_TTL
from vcall.web import api, openapi, page, signed, voice
from vcall.web.access import PAGE_KEY, new_key, require_key
from vcall.web.hub import EventHub
from vcall.web.keys import HUB, LOG, NCCO, STORE
from vcall.web.log import WebhookLog

logger = logging.getLogger("vcall.web")


@dataclass(frozen=True)
class ServeOptions:
    """What ``vcall serve`` is configured with."""

    store_path: Path
    talk: str = DEFAULT_TALK
    user: str = DEFAULT_USER
    quiet: bool = False
    # Secrets stay out of repr(), so printing or logging the options cannot leak them.
    page_key: str = field(default_factory=new_key, repr=False)
    #: HS256 secret Vonage signs webhooks with; None: /voice/* is not verified.
    signature_secret: str | None = field(default=None, repr=False)
    #: False (``--no-verify``) turns signature checks off even with a secret.
    verify_signatures: bool = True
    #: What an acknowledged event survives: a key of :data:`vcall.store.DURABILITY`.
    durability: str = DEFAULT_DURABILITY
    #: Sandbox: simulate calls (``/sandbox/*``) and give the page the sandbox transport.
    sandbox: bool = False
    paths: Paths = field(default_factory=Paths.default)
    #: Lifetime of the page's client JWT (it renews it before then).
    token_ttl: int = DEFAULT_TTL
    #: Live: the browser SDK's ``ClientConfig`` (e.g. ``{"region": "EU"}``).
    client_config: dict[str, Any] = field(default_factory=dict)


@web.middleware
async def _errors(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Expected failures become ``{"ok": false, "error": …}``; bugs become a logged 500."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response({"ok": False, "error": exc.reason}, status=exc.status)
    except VcallError as exc:
        return web.json_response({"ok": False, "error": str(exc)}, status=exc.status)
    except ConnectionError:
        # The client hung up mid-request. Re-raising would make aiohttp log it as an error;
        # a response is dropped quietly when aiohttp finds the connection gone.
        return web.Response(status=400, text="connection lost")
    except Exception:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response({"ok": False, "error": "internal error"}, status=500)


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: the server is up."""
    return web.json_response({"ok": True})


def create_app(
    options: ServeOptions, *, store: EventStore | None = None, log: WebhookLog | None = None
) -> web.Application:
    """Build the server: webhooks, health, and the store opened/closed with the app."""
    app = web.Application(middlewares=[_errors, require_key], client_max_size=voice.MAX_BODY)
    app[PAGE_KEY] = options.page_key
    app[STORE] = store or open_store(options.store_path, options.durability)
    app[NCCO] = NccoBuilder(options.talk, options.user)
    app[HUB] = EventHub()
    app[LOG] = log or WebhookLog(quiet=options.quiet)

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        await app[STORE].open()
        yield
        await app[STORE].close()

    app.cleanup_ctx.append(store_ctx)
    signed.install(app, options.signature_secret if options.verify_signatures else None)
    app.router.add_get("/healthz", healthz)
    voice.add_routes(app)
    api.add_routes(app)
    platform_api.add_routes(app, sandbox=options.sandbox, paths=options.paths)
    page.add_routes(
        app,
        page.PageConfig(
            options.paths, options.user, options.sandbox, options.token_ttl, options.client_config
        ),
    )
    openapi.add_routes(app)
    return app
