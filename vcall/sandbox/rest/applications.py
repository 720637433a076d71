"""Applications API v2 in the sandbox: ``/v2/applications`` and ``/v2/applications/{id}``.

Bodies are validated against Vonage's published spec (``application.v2.yml``). Voice webhook
timeouts may be spelled ``connection_timeout`` (the spec, Vonage's docs) or
``connect_timeout`` (the Python SDK's ``VoiceUrl``); both are accepted, stored and returned as
``connection_timeout``, and the spelling seen is noted in the request log.
"""

from __future__ import annotations

import copy
import math
import uuid
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from vcall.keygen import new_key_pair
from vcall.sandbox.rest import spec
from vcall.sandbox.rest.protocol import ERRORS_DOC, STATE, json_body, note, problem

#: Voice webhook → (default http_method, default socket_timeout), per the spec.
VOICE_WEBHOOKS = {
    "answer_url": ("GET", 5000),
    "fallback_answer_url": ("GET", 5000),
    "event_url": ("POST", 10000),
}
DEFAULT_CONNECTION_TIMEOUT = 1000


def _invalid(invalid: list[dict[str, str]], list_call: bool = False) -> web.Response:
    kind = "list-validation" if list_call else "payload-validation"
    return problem(
        400,
        "Bad Request",
        "The request failed due to validation errors",
        f"{ERRORS_DOC}/application#{kind}",
        invalid_parameters=invalid,
    )


def _not_found(app_id: str) -> web.Response:
    return problem(
        404,
        "Not Found",
        f"Application {app_id} does not exist, or you do not have access.",
        f"{ERRORS_DOC}#invalid-id",
    )


def _webhooks(body: Any) -> dict[str, Any]:
    """The body's voice webhooks (``{}`` when absent or oddly shaped)."""
    node = body
    for key in ("capabilities", "voice", "webhooks"):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def _normalise_timeouts(request: web.Request, body: Any) -> None:
    """Accept the SDK's ``connect_timeout`` as the spec's ``connection_timeout``."""
    for name, hook in _webhooks(body).items():
        if not isinstance(hook, dict):
            continue
        for spelling in ("connection_timeout", "connect_timeout"):
            if spelling in hook:
                note(request, f"{name}.{spelling}")
        if "connect_timeout" in hook:
            sdk_value = hook.pop("connect_timeout")
            hook.setdefault("connection_timeout", sdk_value)


def _extra_errors(body: dict[str, Any]) -> list[dict[str, str]]:
    """What the spec cannot express: webhook addresses are URLs, public keys are keys."""
    errors = []
    for name, hook in _webhooks(body).items():
        address = hook.get("address") if isinstance(hook, dict) else None
        if isinstance(address, str):
            parts = urlsplit(address)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                errors.append(
                    {
                        "name": f"capabilities.voice.webhooks.{name}.address",
                        "reason": "must be an http(s) URL",
                    }
                )
    public = (body.get("keys") or {}).get("public_key") if isinstance(body, dict) else None
    if isinstance(public, str):
        try:
            load_pem_public_key(public.encode())
        except (ValueError, TypeError):
            errors.append({"name": "keys.public_key", "reason": "must be a PEM public key"})
    return errors


def _record(app_id: str, body: dict[str, Any], public_key: str) -> dict[str, Any]:
    """The stored application: the body with the spec's defaults filled in."""
    capabilities = copy.deepcopy(body.get("capabilities") or {})
    voice = capabilities.get("voice")
    if isinstance(voice, dict):
        hooks = voice.setdefault("webhooks", {})
        for name, hook in hooks.items():
            method, socket_timeout = VOICE_WEBHOOKS.get(name, ("POST", 10000))
            hook.setdefault("http_method", method)
            hook.setdefault("connection_timeout", DEFAULT_CONNECTION_TIMEOUT)
            hook.setdefault("socket_timeout", socket_timeout)
        voice.setdefault("signed_callbacks", False)
    privacy = body.get("privacy") or {}
    return {
        "id": app_id,
        "name": body["name"],
        "keys": {"public_key": public_key},
        "capabilities": capabilities,
        "privacy": {"improve_ai": privacy.get("improve_ai", True)},
        "_links": {"self": {"href": f"/v2/applications/{app_id}"}},
    }


async def _validated(request: web.Request, path: str) -> tuple[Any, web.Response | None]:
    body, error = await json_body(request)
    if error is not None:
        return None, error
    if not isinstance(body, dict):
        return None, _invalid([{"name": "body", "reason": "must be a JSON object"}])
    _normalise_timeouts(request, body)
    invalid = spec.load("application").body_errors(path, request.method, body)
    if not invalid:
        invalid = _extra_errors(body)
    return body, _invalid(invalid) if invalid else None


async def list_applications(request: web.Request) -> web.Response:
    """``GET /v2/applications?page_size=&page=``."""
    query, invalid = spec.load("application").query_errors("/", "get", request.query)
    size = query.get("page_size", 10)
    page = query.get("page", 1)
    if not invalid and not 1 <= size <= 100:
        invalid = [{"name": "page_size", "reason": "must be between 1 and 100"}]
    if not invalid and page < 1:
        invalid = [{"name": "page", "reason": "must be at least 1"}]
    if invalid:
        return _invalid(invalid, list_call=True)
    apps = request.app[STATE].applications()
    # At least one page, so a client looping "until page == total_pages" stops.
    pages = max(1, math.ceil(len(apps) / size))

    def href(n: int) -> dict[str, str]:
        return {"href": f"/v2/applications?page_size={size}&page={n}"}

    links = {"self": href(page), "first": href(1), "last": href(pages)}
    if page > 1:
        links["prev"] = href(page - 1)
    if page < pages:
        links["next"] = href(page + 1)
    return web.json_response(
        {
            "page_size": size,
            "page": page,
            "total_items": len(apps),
            "total_pages": pages,
            "_embedded": {"applications": apps[(page - 1) * size : page * size]},
            "_links": links,
        }
    )


async def create_application(request: web.Request) -> web.Response:
    """``POST /v2/applications``: without ``keys.public_key``, a key pair is generated and
    the private half returned, this once."""
    body, error = await _validated(request, "/")
    if error is not None:
        return error
    private = None
    public = (body.get("keys") or {}).get("public_key")
    if public is None:
        private, public = new_key_pair()
    app_id = str(uuid.uuid4())
    record = _record(app_id, body, public)
    with request.app[STATE].transaction() as doc:
        doc["applications"][app_id] = record
    answer = copy.deepcopy(record)
    if private is not None:
        answer["keys"]["private_key"] = private
    return web.json_response(answer, status=201)


async def get_application(request: web.Request) -> web.Response:
    """``GET /v2/applications/{id}``."""
    app_id = request.match_info["id"]
    app = request.app[STATE].application(app_id)
    return web.json_response(app) if app is not None else _not_found(app_id)


async def update_application(request: web.Request) -> web.Response:
    """``PUT /v2/applications/{id}``: replaces name, capabilities and privacy; the key is
    replaced only when ``keys.public_key`` is given."""
    app_id = request.match_info["id"]
    body, error = await _validated(request, "/{id}")
    if error is not None:
        return error
    with request.app[STATE].transaction() as doc:
        old = doc["applications"].get(app_id)
        if old is None:
            return _not_found(app_id)
        public = (body.get("keys") or {}).get("public_key") or old["keys"]["public_key"]
        doc["applications"][app_id] = record = _record(app_id, body, public)
    return web.json_response(record)


async def delete_application(request: web.Request) -> web.Response:
    """``DELETE /v2/applications/{id}``: its numbers are unlinked and its users go with it."""
    app_id = request.match_info["id"]
    with request.app[STATE].transaction() as doc:
        if doc["applications"].pop(app_id, None) is None:
            return _not_found(app_id)
        doc["users"].pop(app_id, None)
        for number in doc["numbers"].values():
            if number.get("app_id") == app_id:
                del number["app_id"]
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    """Mount the Applications API."""
    app.router.add_get("/v2/applications", list_applications)
    app.router.add_post("/v2/applications", create_application)
    app.router.add_get("/v2/applications/{id}", get_application)
    app.router.add_put("/v2/applications/{id}", update_application)
    app.router.add_delete("/v2/applications/{id}", delete_application)
