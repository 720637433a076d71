"""``GET /api/openapi.json``: an OpenAPI 3.1 description of ``vcall serve``'s own routes.

The description is assembled from :data:`OPERATIONS` for the routes the application really
mounts, so it never promises a route that is not there; :func:`undocumented` lists mounted
routes with no entry (a test keeps that list empty). A new route therefore needs an entry
here. Limits, fields and outcomes are read from the code that enforces them. The fuzz tests
generate requests from this description.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vcall import __version__
from vcall.calls import PAGE_MAX as CALLS_MAX
from vcall.calls import STATUSES as CALL_STATUSES
from vcall.events import ANSWER_FIELDS, MAX_FIELD, REQUIRED_FIELDS, SCALAR_FIELDS, STRING_FIELDS
from vcall.sandbox.voice.request import CONNECT_LIMIT, TIMES, Outcome
from vcall.sandbox.voice.routes import MAX_WAIT
from vcall.web.access import COOKIE, guarded
from vcall.web.api import LAST_MAX, PAGE_MAX
from vcall.web.body import MAX_BODY

_STR = {"type": "string"}
_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "not what this route accepts (the reason is in `error`)",
        401: "missing or invalid key / webhook signature",
        403: "cross-origin request",
        405: "method not allowed",
        408: "the body was not sent in time",
        413: f"body over {MAX_BODY // 1024} KiB",
        503: "the store cannot take it now: try again after `Retry-After` seconds",
    }
    return {str(c): _json(_ERROR, reasons[c]) for c in codes}


def _query(*names: str, schema: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": False, "schema": schema or _STR} for n in names]


_SIGNED = [{"vonageSignature": []}]
_CONVERSATION = {"name": "conversation", "in": "path", "required": True, "schema": _STR}
_KEYED = [{"pageKey": []}, {"pageKeyCookie": []}, {"pageKeyQuery": []}]

_ANSWER_GET = {
    "summary": "The NCCO for an incoming call (fields as query parameters)",
    "security": _SIGNED,
    "parameters": _query(*ANSWER_FIELDS, "region_url", "custom_data"),
    "responses": {
        "200": _json({"$ref": "#/components/schemas/Ncco"}, "talk, then connect to the app user"),
        **_errors(400, 401),
    },
}
_ANSWER_POST = {
    "summary": "The NCCO for an incoming call (fields as a JSON body)",
    "security": _SIGNED,
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AnswerRequest"}}},
    },
    "responses": {
        "200": _json({"$ref": "#/components/schemas/Ncco"}, "talk, then connect to the app user"),
        **_errors(400, 401, 408, 413),
    },
}
_ACK = _json({"$ref": "#/components/schemas/Ack"}, "committed to the store (or a repeat)")

#: Every documented operation: path → method → OpenAPI operation object.
OPERATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "/healthz": {
        "get": {
            "summary": "The server is up",
            "security": [],
            "responses": {
                "200": _json({"type": "object"}, "ok"),
                "503": _json(
                    {"type": "object"},
                    "degraded: the store cannot take events now and the server is reconnecting "
                    "to it (`store` says why)",
                ),
            },
        }
    },
    "/voice/answer": {"get": _ANSWER_GET, "post": _ANSWER_POST},
    "/voice/fallback": {"get": _ANSWER_GET, "post": _ANSWER_POST},
    "/voice/event": {
        "get": {
            "summary": "A call event as query parameters",
            "security": _SIGNED,
            "parameters": _query(*STRING_FIELDS),
            "responses": {"200": _ACK, **_errors(400, 401, 503)},
        },
        "post": {
            "summary": "A call event, committed before it is acknowledged",
            "security": _SIGNED,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/CallEvent"}}
                },
            },
            "responses": {"200": _ACK, **_errors(400, 401, 405, 408, 413, 503)},
        },
    },
    "/voice/{path}": {
        "get": {
            "summary": "Any other /voice/ path (signed like the webhooks)",
            "security": _SIGNED,
            "parameters": [{"name": "path", "in": "path", "required": True, "schema": _STR}],
            "responses": {"404": _json(_ERROR, "no such webhook"), **_errors(401)},
        }
    },
    "/{path}": {
        "get": {
            "summary": "Any path no route above takes (behind the page key)",
            "security": _KEYED,
            "parameters": [{"name": "path", "in": "path", "required": True, "schema": _STR}],
            "responses": {"404": _json(_ERROR, "not found"), **_errors(401, 403)},
        }
    },
    "/api/openapi.json": {
        "get": {
            "summary": "This description",
            "security": _KEYED,
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1"), **_errors(401, 403)},
        }
    },
    "/api/events": {
        "get": {
            "summary": "One page of stored events, oldest first",
            "security": _KEYED,
            "parameters": [
                *_query("conversation"),
                *_query("after", schema={"type": "integer", "minimum": 0}),
                *_query("limit", schema={"type": "integer", "minimum": 1, "maximum": PAGE_MAX}),
            ],
            "responses": {
                "200": _json({"type": "object"}, "events and the next cursor"),
                **_errors(400, 401, 403),
            },
        }
    },
    "/api/events/stream": {
        "get": {
            "summary": "Server-Sent Events: backlog, `ready`, then every new event",
            "security": _KEYED,
            "parameters": [
                *_query("conversation"),
                *_query("after", schema={"type": "integer", "minimum": 0}),
                *_query("last", schema={"type": "integer", "minimum": 0, "maximum": LAST_MAX}),
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 0},
                },
            ],
            "responses": {
                "200": {
                    "description": "the stream",
                    "content": {"text/event-stream": {"schema": _STR}},
                },
                **_errors(400, 401, 403),
            },
        }
    },
    # -- the calls inspector (vcall/web/inspector.py)
    "/api/calls": {
        "get": {
            "summary": "Recent calls, newest first (or the one call `q` names)",
            "security": _KEYED,
            "parameters": [
                *_query("before", schema={"type": "integer", "minimum": 1}),
                *_query("limit", schema={"type": "integer", "minimum": 1, "maximum": CALLS_MAX}),
                *_query("status", schema={"enum": list(CALL_STATUSES)}),
                *_query("number", "q"),
            ],
            "responses": {
                "200": _json(
                    {"type": "object"},
                    "calls (caller, outcome, duration, price...), `next` (the `before` of the "
                    "following page, or null) and how many events were looked through",
                ),
                **_errors(400, 401, 403),
            },
        }
    },
    "/api/calls/{conversation}": {
        "get": {
            "summary": "One call: its answer requests as received, then its events",
            "security": _KEYED,
            "parameters": [_CONVERSATION],
            "responses": {
                "200": _json({"type": "object"}, "call, answers, events"),
                "404": _json(_ERROR, "no stored events for that call"),
                **_errors(401, 403),
            },
        }
    },
    "/api/calls/{conversation}/replay": {
        "post": {
            "summary": "Send the call's webhooks again (signed) to a URL, as `vcall replay` does",
            "security": _KEYED,
            "parameters": [_CONVERSATION],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["to"],
                            "properties": {"to": {"type": "string", "format": "uri"}},
                        }
                    }
                },
            },
            "responses": {
                "200": _json({"type": "object"}, "each delivery and its response code"),
                "404": _json(_ERROR, "no stored events for that call"),
                "502": _json(_ERROR, "the URL could not be reached (the deliveries so far)"),
                **_errors(400, 401, 403),
            },
        }
    },
    # -- the sandbox platform and the page (vcall/sandbox/voice/routes.py, vcall/web/page.py)
    "/sandbox/calls": {
        "post": {
            "summary": "Place a simulated call (sandbox mode; 409 when serving live)",
            "security": _KEYED,
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/CallRequest"}}
                },
            },
            "responses": {
                "201": _json({"type": "object"}, "the call's summary (it runs in the background)"),
                "409": _json(_ERROR, "vcall serve is in live mode"),
                **_errors(400, 401, 403),
            },
        }
    },
    "/sandbox/calls/{id}": {
        "get": {
            "summary": "A simulated call's summary, once it ended or `wait` seconds passed",
            "security": _KEYED,
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": _STR},
                *_query("wait", schema={"type": "number", "minimum": 0, "maximum": MAX_WAIT}),
            ],
            "responses": {
                "200": _json({"type": "object"}, "conversation id, outcome, legs"),
                "404": _json(_ERROR, "no such call"),
                "409": _json(_ERROR, "vcall serve is in live mode"),
                **_errors(400, 401, 403),
            },
        }
    },
    "/v2/rtc/": {
        "get": {
            "summary": "Sandbox: the Vonage Client SDK's socket.io connection "
            "(see vcall/sandbox/voice/client_sessions.py); the Conversation API routes the SDK "
            "calls are the sandbox's too (vcall/sandbox/voice/conversation_api.py)",
            "security": _KEYED,
            "responses": {
                "101": {"description": "switching to WebSocket"},
                "404": _json(_ERROR, "live mode: the page's SDK talks to Vonage"),
                **_errors(400, 401, 403),
            },
        }
    },
    "/api/token": {
        "get": {
            "summary": "A client JWT for the page's user, the mode and the SDK config",
            "security": _KEYED,
            "responses": {
                "200": _json({"type": "object"}, "token, user, expires_in, mode, config"),
                **_errors(400, 401, 403),
            },
        }
    },
    **{
        path: {
            "get": {
                "summary": f"The page: {name}",
                "security": _KEYED,
                "responses": {
                    "200": {"description": name},
                    "404": _json(_ERROR, "file not installed"),
                    **_errors(401, 403),
                },
            }
        }
        for path, name in (
            ("/", "index.html"),
            ("/app.js", "app.js"),
            ("/style.css", "style.css"),
            ("/inspector.js", "the calls inspector"),
            ("/timeline.js", "the call timeline (SVG)"),
            ("/inspector.css", "the inspector's styles"),
            ("/sdk/vonageClientSDK.min.js", "the Vonage Client SDK bundle (vcall.client_sdk)"),
        )
    },
}

_COMPONENTS: dict[str, Any] = {
    "securitySchemes": {
        "vonageSignature": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "HS256 with the signature secret; claims iat, jti, iss=Vonage, "
            "payload_hash (SHA-256 of the body, or of the query as compact JSON)",
        },
        "pageKey": {"type": "http", "scheme": "bearer", "description": "the page key"},
        "pageKeyCookie": {"type": "apiKey", "in": "cookie", "name": COOKIE},
        "pageKeyQuery": {"type": "apiKey", "in": "query", "name": "key"},
    },
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["ok", "error"],
            "properties": {"ok": {"const": False}, "error": _STR},
        },
        "Ack": {
            "type": "object",
            "required": ["ok", "duplicate"],
            "properties": {
                "ok": {"const": True},
                "id": {"type": "integer"},
                "duplicate": {"type": "boolean"},
            },
        },
        "Ncco": {
            "type": "array",
            "items": {"type": "object", "required": ["action"]},
            "minItems": 1,
        },
        "CallRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "from": _STR,
                "to": _STR,
                "outcome": {"enum": [outcome.value for outcome in Outcome]},
                **{
                    name: {"type": "number", "minimum": 0, "maximum": CONNECT_LIMIT}
                    for name in TIMES
                },
            },
        },
        "AnswerRequest": {
            "type": "object",
            "properties": {name: _STR for name in ANSWER_FIELDS},
        },
        "CallEvent": {
            "type": "object",
            "required": list(REQUIRED_FIELDS),
            "properties": {
                **{
                    name: {"type": ["string", "null"], "maxLength": MAX_FIELD}
                    for name in STRING_FIELDS
                },
                **{
                    name: {"type": "string", "minLength": 1, "maxLength": MAX_FIELD}
                    for name in REQUIRED_FIELDS
                },
                **{name: {"type": ["string", "number", "null"]} for name in SCALAR_FIELDS},
                "headers": {"type": ["object", "null"]},
            },
        },
    },
}


def _mounted(app: web.Application) -> dict[str, set[str]]:
    """Path → lower-case methods the router serves ("*" for any), HEAD left out."""
    out: dict[str, set[str]] = {}
    for resource in app.router.resources():
        methods = out.setdefault(resource.canonical, set())
        for route in resource:
            if route.method != "HEAD":
                methods.add(route.method.lower())
    return out


def document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI document for the routes ``app`` mounts."""
    paths: dict[str, Any] = {}
    for path, methods in _mounted(app).items():
        documented = OPERATIONS.get(path, {})
        chosen = (
            documented if "*" in methods else {m: documented[m] for m in methods if m in documented}
        )
        if chosen:
            paths[path] = chosen
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "vcall serve",
            "version": __version__,
            "description": "Webhooks Vonage calls (signed), and the page's API (page key).",
        },
        "paths": paths,
        "components": _COMPONENTS,
    }


def undocumented(app: web.Application) -> list[str]:
    """``METHOD /path`` of every mounted route that :data:`OPERATIONS` does not describe."""
    missing = []
    for path, methods in _mounted(app).items():
        documented = OPERATIONS.get(path, {})
        for method in sorted(methods):
            if (method == "*" and not documented) or (method != "*" and method not in documented):
                missing.append(f"{method.upper()} {path}")
    return missing


def add_routes(app: web.Application) -> None:
    """Mount ``/api/openapi.json`` (behind the page key, like the rest of ``/api``)."""
    built: dict[str, Any] = {}  # filled on first use: the router is final by then

    async def openapi_json(request: web.Request) -> web.Response:
        """``GET /api/openapi.json``: this server's OpenAPI description."""
        if not built:
            built.update(document(request.app))
        return web.json_response(built)

    app.router.add_get("/api/openapi.json", guarded(openapi_json))
