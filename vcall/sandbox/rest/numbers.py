"""Numbers API in the sandbox: ``/account/numbers``, ``/number/search|buy|cancel|update``.

As Vonage does, every answer carries ``error-code`` / ``error-code-label``: HTTP 200 with
``"200"``/``success`` when it worked, 420 (``method failed``) when the action cannot be done,
400 for bad parameters, 401 for bad credentials. Parameters are read from the query string
and from the body, whatever its Content-Type (see :func:`vcall.sandbox.rest.service.params`), and
checked against Vonage's published spec (``numbers.yml``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vcall._errors import InvalidInput
from vcall.phone import sample_numbers
from vcall.sandbox.account import owned_number
from vcall.sandbox.rest import spec
from vcall.sandbox.rest.protocol import STATE, numbers_error, params

#: Monthly price (EUR) the sandbox quotes for a number, by type.
PRICES = {"landline": "0.90", "mobile-lvn": "1.25", "landline-toll-free": "2.50"}
_FORM = "application/x-www-form-urlencoded"
_SETTABLE = ("moHttpUrl", "voiceCallbackType", "voiceCallbackValue", "voiceStatusCallback")


def _bad(invalid: list[dict[str, str]]) -> web.Response:
    first = invalid[0]
    return numbers_error(400, f"bad request: {first['name']} {first['reason']}")


def _matches(msisdn: str, query: dict[str, Any]) -> bool:
    pattern = query.get("pattern")
    if not pattern:
        return True
    how = query.get("search_pattern", 0)
    if how == 1:
        return pattern in msisdn
    if how == 2:
        return msisdn.endswith(pattern)
    return msisdn.startswith(pattern)


def _page(items: list[dict[str, Any]], query: dict[str, Any]) -> web.Response:
    size, index = query.get("size", 10), query.get("index", 1)
    body: dict[str, Any] = {"count": len(items)}
    if items:  # Vonage leaves "numbers" out when there are none
        body["numbers"] = items[(index - 1) * size : index * size]
    return web.json_response(body)


async def list_owned(request: web.Request) -> web.Response:
    """``GET /account/numbers`` with ``application_id``, ``has_application``, ``country``,
    ``pattern``/``search_pattern``, ``size``, ``index``."""
    query, invalid = spec.load("numbers").query_errors(
        "/account/numbers", "get", await params(request)
    )
    if invalid:
        return _bad(invalid)
    found = []
    for number in request.app[STATE].numbers():
        linked = number.get("app_id")
        if "application_id" in query and linked != query["application_id"]:
            continue
        if "has_application" in query and bool(linked) != query["has_application"]:
            continue
        if "country" in query and number["country"] != query["country"].upper():
            continue
        if _matches(number["msisdn"], query):
            found.append(number)
    return _page(found, query)


def _available(state: Any, country: str) -> list[dict[str, Any]]:
    owned = {n["msisdn"] for n in state.numbers()}
    offers = []
    for msisdn in sample_numbers(country, 20):
        if msisdn in owned:
            continue
        offer = owned_number(msisdn)
        offer["cost"] = PRICES[offer["type"]]
        offers.append(offer)
    return offers


async def search(request: web.Request) -> web.Response:
    """``GET /number/search``: numbers of ``country`` the account could buy."""
    query, invalid = spec.load("numbers").query_errors(
        "/number/search", "get", await params(request)
    )
    if invalid:
        return _bad(invalid)
    offers = [
        o
        for o in _available(request.app[STATE], query["country"])
        if _matches(o["msisdn"], query) and query.get("type", o["type"]) == o["type"]
    ]
    return _page(offers, query)


async def _form(request: web.Request, path: str) -> tuple[dict[str, str], web.Response | None]:
    given = await params(request)
    invalid = spec.load("numbers").body_errors(path, "post", given, _FORM)
    return given, _bad(invalid) if invalid else None


async def buy(request: web.Request) -> web.Response:
    """``POST /number/buy``: any number of the right country the account does not own."""
    given, error = await _form(request, "/number/buy")
    if error is not None:
        return error
    msisdn, country = given["msisdn"], given["country"].upper()
    if not msisdn.isdigit():
        return numbers_error(420, "method failed: msisdn must be E.164 digits")
    with request.app[STATE].transaction() as doc:
        if msisdn in doc["numbers"]:
            return numbers_error(420, "method failed: you already own this number")
        try:
            record = owned_number(msisdn)
        except InvalidInput as exc:  # found by fuzzing: "00" is digits but no number
            return numbers_error(420, f"method failed: {exc}")
        if record["country"] != country:
            return numbers_error(420, f"method failed: {msisdn} is not a {country} number")
        doc["numbers"][msisdn] = record
    return numbers_error(200, "success")


def _owned(doc: dict[str, Any], given: dict[str, str]) -> dict[str, Any] | None:
    """The account's record of the number a form names (msisdn and country), if it owns it."""
    number = doc["numbers"].get(given["msisdn"])
    if number is None or number["country"] != given["country"].upper():
        return None
    return number


async def cancel(request: web.Request) -> web.Response:
    """``POST /number/cancel``: give an owned number back."""
    given, error = await _form(request, "/number/cancel")
    if error is not None:
        return error
    with request.app[STATE].transaction() as doc:
        number = _owned(doc, given)
        if number is None:
            return numbers_error(420, "method failed: you do not own this number")
        del doc["numbers"][given["msisdn"]]
    return numbers_error(200, "success")


async def update(request: web.Request) -> web.Response:
    """``POST /number/update``: link (``app_id``) or unlink (``app_id=``) a number, and set
    its other callbacks."""
    given, error = await _form(request, "/number/update")
    if error is not None:
        return error
    with request.app[STATE].transaction() as doc:
        number = _owned(doc, given)
        if number is None:
            return numbers_error(420, "method failed: you do not own this number")
        if "app_id" in given:
            app_id = given["app_id"]
            if app_id and app_id not in doc["applications"]:
                return numbers_error(420, f"method failed: no application {app_id}")
            if app_id:
                number["app_id"] = app_id
            else:
                number.pop("app_id", None)
        for name in _SETTABLE:
            if name in given:
                number[name] = given[name]
    return numbers_error(200, "success")


def add_routes(app: web.Application) -> None:
    """Mount the Numbers API."""
    app.router.add_get("/account/numbers", list_owned)
    app.router.add_get("/number/search", search)
    app.router.add_post("/number/buy", buy)
    app.router.add_post("/number/cancel", cancel)
    app.router.add_post("/number/update", update)
