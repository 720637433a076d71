"""What every route of the sandbox REST API shares: its app and request keys, Vonage-shaped
error answers (problem JSON; the Numbers API's ``error-code``), and reading parameters and
bodies the way the SDK sends them."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from vcall.sandbox.account import SandboxState

STATE = web.AppKey("sandbox_state", SandboxState)
#: Per-request notes for the request log (e.g. which timeout spelling a body used).
NOTES = web.RequestKey("sandbox_notes", list)
#: The application id a Users API request's JWT was issued for.
APP_ID = web.RequestKey("sandbox_app_id", str)
_PARAMS = web.RequestKey("sandbox_params", dict)

ERRORS_DOC = "https://developer.nexmo.com/api-errors"


def problem(status: int, title: str, detail: str, type_: str, **extra: Any) -> web.Response:
    """A problem-JSON error like Vonage's (``type``, ``title``, ``detail``, ``instance``)."""
    body = {"type": type_, "title": title, "detail": detail, "instance": str(uuid.uuid4())}
    body.update(extra)
    return web.json_response(body, status=status, content_type="application/problem+json")


def numbers_error(status: int, label: str) -> web.Response:
    """A Numbers API answer: ``{"error-code": "...", "error-code-label": "..."}``."""
    return web.json_response({"error-code": str(status), "error-code-label": label}, status=status)


def note(request: web.Request, text: str) -> None:
    """Add a note to this request's log entry."""
    request[NOTES].append(text)


async def params(request: web.Request) -> dict[str, str]:
    """Query parameters merged with the body's, whatever the Content-Type says.

    The SDK shares one headers dict between calls, so its form posts can arrive labelled
    ``application/json``: a body is read as JSON only if it looks like a JSON object.
    """
    if _PARAMS in request:
        return request[_PARAMS]
    merged = dict(request.query)
    raw = (await request.read()).decode("utf-8", "replace").strip()
    if raw.startswith("{"):
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            body = {}
        merged.update({k: str(v) for k, v in body.items()} if isinstance(body, dict) else {})
    elif raw:
        merged.update(parse_qsl(raw, keep_blank_values=True))
    request[_PARAMS] = merged
    return merged


async def json_body(request: web.Request) -> tuple[Any, web.Response | None]:
    """The JSON body, or a 400 problem explaining why it is not one."""
    try:
        return json.loads(await request.read() or b"null"), None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, problem(
            400,
            "Bad Request",
            f"The request body is not valid JSON: {exc}",
            f"{ERRORS_DOC}#invalid-json",
        )
