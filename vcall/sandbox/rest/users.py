"""Users API in the sandbox: ``/v1/users`` and ``/v1/users/{id}``, shaped like the SDK's
``vonage_users`` models (the published conversation spec is an older version).

Users belong to the application whose JWT made the request (:data:`vcall.sandbox.rest.service.APP_ID`);
names are unique per application (a duplicate is a 409); lists page with an opaque cursor.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from vcall.sandbox.rest.protocol import APP_ID, ERRORS_DOC, STATE, json_body, problem

_FIELDS = ("name", "display_name", "image_url", "channels", "properties")
_STRINGS = ("name", "display_name", "image_url")
_OBJECTS = ("channels", "properties")


def _error(status: int, code: str, title: str, detail: str, **extra: Any) -> web.Response:
    return problem(status, title, detail, f"{ERRORS_DOC}/conversation#{code}", code=code, **extra)


def _not_found() -> web.Response:
    return _error(
        404, "user:error:not-found", "Not found.", "User does not exist, or you do not have access."
    )


def _duplicate() -> web.Response:
    return _error(409, "user:error:duplicate-name", "Conflict", "User already exists.")


def _invalid(body: Any) -> web.Response | None:
    """A 400 when the body is not a user object (types per the SDK's ``User`` model)."""
    if not isinstance(body, dict):
        invalid = [{"name": "body", "reason": "must be a JSON object"}]
    else:
        invalid = [
            {"name": k, "reason": "must be a string"}
            for k in _STRINGS
            if k in body and not isinstance(body[k], str)
        ] + [
            {"name": k, "reason": "must be an object"}
            for k in _OBJECTS
            if k in body and not isinstance(body[k], dict)
        ]
    if not invalid:
        return None
    return _error(
        400,
        "http:error:validation-fail",
        "Bad Request",
        "Input validation failure.",
        invalid_parameters=invalid,
    )


def _href(request: web.Request, path: str, **query: Any) -> dict[str, str]:
    tail = f"?{urlencode(query)}" if query else ""
    return {"href": f"{request.scheme}://{request.host}{path}{tail}"}


def _public(request: web.Request, user: dict[str, Any]) -> dict[str, Any]:
    shown = dict(user)
    shown["_links"] = {"self": _href(request, f"/v1/users/{user['id']}")}
    return shown


def _name_taken(users: dict[str, Any], name: str, except_id: str | None = None) -> bool:
    return any(u["name"] == name and uid != except_id for uid, u in users.items())


async def list_users(request: web.Request) -> web.Response:
    """``GET /v1/users?name=&page_size=&order=&cursor=``."""
    query = request.query
    try:
        size = int(query.get("page_size", "10"))
        offset = int(base64.urlsafe_b64decode(query.get("cursor", "MA==")).decode())
    except (ValueError, UnicodeDecodeError):
        return _error(400, "http:error:validation-fail", "Bad Request", "Bad page_size or cursor.")
    order = query.get("order", "asc").lower()
    if not 1 <= size <= 100 or order not in ("asc", "desc") or offset < 0:
        return _error(
            400,
            "http:error:validation-fail",
            "Bad Request",
            "page_size must be 1-100, order asc or desc.",
        )
    users = request.app[STATE].users(request[APP_ID])
    if "name" in query:
        users = [u for u in users if u["name"] == query["name"]]
    if order == "desc":
        users.reverse()
    page = users[offset : offset + size]
    base = {k: v for k, v in query.items() if k in ("name", "order")}
    links = {
        "self": _href(request, "/v1/users", **base, page_size=size, **_cursor(offset)),
        "first": _href(request, "/v1/users", **base, page_size=size),
    }
    if offset + size < len(users):
        links["next"] = _href(
            request, "/v1/users", **base, page_size=size, **_cursor(offset + size)
        )
    if offset > 0:
        links["prev"] = _href(
            request, "/v1/users", **base, page_size=size, **_cursor(max(0, offset - size))
        )
    summaries = [
        {
            "id": u["id"],
            "name": u["name"],
            "display_name": u.get("display_name"),
            "_links": {"self": _href(request, f"/v1/users/{u['id']}")},
        }
        for u in page
    ]
    return web.json_response(
        {"page_size": size, "_embedded": {"users": summaries}, "_links": links}
    )


def _cursor(offset: int) -> dict[str, str]:
    return {"cursor": base64.urlsafe_b64encode(str(offset).encode()).decode()} if offset else {}


async def create_user(request: web.Request) -> web.Response:
    """``POST /v1/users``: a name is generated when none is given."""
    body, error = await json_body(request)
    body = {} if body is None else body
    error = error or _invalid(body)
    if error is not None:
        return error
    user_id = f"USR-{uuid.uuid4()}"
    user = {k: body[k] for k in _FIELDS if k in body}
    user.setdefault("name", f"NAM-{uuid.uuid4()}")
    user["id"] = user_id
    app_id = request[APP_ID]
    with request.app[STATE].transaction() as doc:
        users = doc["users"].setdefault(app_id, {})
        if _name_taken(users, user["name"]):
            return _duplicate()
        users[user_id] = user
    return web.json_response(_public(request, user), status=201)


async def get_user(request: web.Request) -> web.Response:
    """``GET /v1/users/{id}``."""
    user = request.app[STATE].user(request[APP_ID], request.match_info["id"])
    return web.json_response(_public(request, user)) if user is not None else _not_found()


async def update_user(request: web.Request) -> web.Response:
    """``PATCH /v1/users/{id}``: the given fields replace the stored ones."""
    body, error = await json_body(request)
    error = error or _invalid(body)
    if error is not None:
        return error
    user_id = request.match_info["id"]
    with request.app[STATE].transaction() as doc:
        users = doc["users"].get(request[APP_ID], {})
        user = users.get(user_id)
        if user is None:
            return _not_found()
        if "name" in body and _name_taken(users, body["name"], except_id=user_id):
            return _duplicate()
        user.update({k: body[k] for k in _FIELDS if k in body})
    return web.json_response(_public(request, user))


async def delete_user(request: web.Request) -> web.Response:
    """``DELETE /v1/users/{id}``."""
    with request.app[STATE].transaction() as doc:
        if doc["users"].get(request[APP_ID], {}).pop(request.match_info["id"], None) is None:
            return _not_found()
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    """Mount the Users API."""
    app.router.add_get("/v1/users", list_users)
    app.router.add_post("/v1/users", create_user)
    app.router.add_get("/v1/users/{id}", get_user)
    app.router.add_patch("/v1/users/{id}", update_user)
    app.router.add_delete("/v1/users/{id}", delete_user)
