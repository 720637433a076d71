"""The page that answers the call: ``client/`` files, the user's JWT, and the Client SDK.

``GET /`` is ``client/index.html``; its script loads the real ``@vonage/client-sdk`` bundle
(``GET /sdk/vonageClientSDK.min.js``, installed by :mod:`vcall.client_sdk`) and asks
``GET /api/token`` for the app user's client JWT (minted here with :func:`vcall.tokens.mint`)
and the SDK's configuration: live, the hosts of the application's region; in the sandbox, this
server, which speaks the SDK's protocol (:mod:`vcall.sandbox.voice`). One page, one code path.
Every route here needs the page key (:mod:`vcall.web.access`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from vcall import client_sdk, tokens
from vcall._errors import ConfigError, NotFound
from vcall.config import load_settings
from vcall.web.access import guarded

if TYPE_CHECKING:
    from vcall.paths import Paths

CLIENT_DIR = client_sdk.CLIENT_DIR
#: URL path → file in the client folder; nothing else is served from it.
FILES = {
    "/": "index.html",
    "/app.js": "app.js",
    "/style.css": "style.css",
    "/inspector.js": "inspector.js",
    "/timeline.js": "timeline.js",
    "/inspector.css": "inspector.css",
}

_NO_CACHE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class PageConfig:
    """What the page needs from ``vcall serve``'s options."""

    paths: Paths
    user: str
    sandbox: bool
    token_ttl: int
    #: Live: the region whose hosts the SDK talks to.
    region: str = client_sdk.REGIONS[0]
    #: Laid over the ``ClientConfig`` the page is given (e.g. another ``websocketUrl``).
    client_config: dict[str, Any] = field(default_factory=dict)
    client_dir: Path = CLIENT_DIR

    def sdk_config(self, origin: str) -> dict[str, Any]:
        """``new VonageClient(config)``'s config: this server (``origin``) in the sandbox, the
        region's hosts live."""
        if self.sandbox:
            hosts = {"apiUrl": origin, "websocketUrl": origin, "rtcStatsTelemetry": False}
        else:
            hosts = client_sdk.hosts(self.region)
        return {**hosts, **self.client_config}


PAGE = web.AppKey("page", PageConfig)


async def client_file(request: web.Request) -> web.FileResponse:
    """One of the page's own files."""
    path = request.app[PAGE].client_dir / FILES[request.path]
    if not path.is_file():
        raise NotFound(f"{path} is missing: reinstall vcall")
    return web.FileResponse(path, headers=_NO_CACHE)


async def sdk_file(request: web.Request) -> web.FileResponse:
    """The Client SDK's UMD bundle, as :mod:`vcall.client_sdk` installed it."""
    path = client_sdk.bundle(request.app[PAGE].client_dir)
    if path is None:
        raise NotFound("the Vonage Client SDK is not installed: start vcall serve with npm on PATH")
    return web.FileResponse(path, headers=_NO_CACHE)


async def page_token(request: web.Request) -> web.Response:
    """``GET /api/token``: a fresh client JWT for the page's user, and how to use it."""
    page = request.app[PAGE]
    settings = load_settings(page.paths)
    if not settings.application_id or not settings.private_key:
        raise ConfigError("no application to sign in to yet: run `vcall setup`, then reload")
    key = tokens.load_private_key(settings.private_key)
    issued = int(time.time())
    jwt = tokens.mint(settings.application_id, key, page.user, ttl=page.token_ttl, now=issued)
    return web.json_response(
        {
            "token": jwt,
            "user": page.user,
            # exp counts from a whole second: say exactly how long the token has left.
            "expires_in": round(issued + page.token_ttl - time.time(), 3),
            "mode": "sandbox" if page.sandbox else "live",
            "config": page.sdk_config(str(request.url.origin())),
        },
        headers=_NO_CACHE,
    )


def add_routes(app: web.Application, page: PageConfig) -> None:
    """Mount the page, its token endpoint and the SDK bundle."""
    app[PAGE] = page
    for path in FILES:
        app.router.add_get(path, guarded(client_file))
    app.router.add_get("/sdk/vonageClientSDK.min.js", guarded(sdk_file))
    app.router.add_get("/api/token", guarded(page_token))
