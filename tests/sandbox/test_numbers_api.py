"""Numbers API in the sandbox: Vonage's error-code semantics and its published spec."""

from __future__ import annotations

from urllib.parse import urlencode

from vcall.sandbox.account import DEFAULT_NUMBER
from vcall.sandbox.rest import spec

NUMBERS = spec.load("numbers")


def assert_valid(path: str, method: str, status: int, body: object) -> None:
    validator = NUMBERS.response_validator(path, method, status)
    assert validator is not None
    errors = [e.message for e in validator.iter_errors(body)]
    assert not errors, errors


async def test_the_account_owns_the_seed_number(api, basic):
    resp = await api.get("/account/numbers", headers=basic)
    body = await resp.json()
    assert resp.status == 200
    assert_valid("/account/numbers", "get", 200, body)
    assert body["count"] == 1
    assert body["numbers"][0] == {
        "country": "GB",
        "msisdn": DEFAULT_NUMBER,
        "type": "landline",
        "features": ["VOICE", "SMS"],
    }


async def test_credentials_as_parameters_work_and_wrong_ones_are_401(api, state):
    account = state.account
    resp = await api.get(
        "/account/numbers", params={"api_key": account.api_key, "api_secret": account.api_secret}
    )
    assert resp.status == 200
    resp = await api.get("/account/numbers", params={"api_key": account.api_key, "api_secret": "x"})
    body = await resp.json()
    assert resp.status == 401
    assert_valid("/account/numbers", "get", 401, body)
    assert body == {"error-code": "401", "error-code-label": "authentication failed"}


async def test_update_parses_a_form_body_labelled_json(api, basic, make_app, state):
    """The SDK's shared headers send form posts as Content-Type: application/json."""
    app = await make_app()
    form = urlencode({"country": "GB", "msisdn": DEFAULT_NUMBER, "app_id": app["id"]})
    headers = {**basic, "Content-Type": "application/json"}
    resp = await api.post("/number/update", data=form, headers=headers)
    body = await resp.json()
    assert resp.status == 200
    assert_valid("/number/update", "post", 200, body)
    assert body == {"error-code": "200", "error-code-label": "success"}
    assert state.application_for_number(DEFAULT_NUMBER)["id"] == app["id"]

    linked = await api.get("/account/numbers", params={"has_application": "False"}, headers=basic)
    assert (await linked.json()) == {"count": 0}
    mine = await api.get("/account/numbers", params={"application_id": app["id"]}, headers=basic)
    assert (await mine.json())["numbers"][0]["app_id"] == app["id"]

    unlink = urlencode({"country": "GB", "msisdn": DEFAULT_NUMBER, "app_id": ""})
    resp = await api.post("/number/update", data=unlink, headers=headers)
    assert (await resp.json())["error-code"] == "200"
    assert state.application_for_number(DEFAULT_NUMBER) is None


async def test_failures_are_420_or_400_with_a_label(api, basic):
    form = {"country": "GB", "msisdn": "447700900001", "app_id": "nope"}
    resp = await api.post("/number/update", data=form, headers=basic)
    body = await resp.json()
    assert resp.status == 420
    assert body["error-code"] == "420" and "do not own" in body["error-code-label"]
    resp = await api.post("/number/update", data={"msisdn": DEFAULT_NUMBER}, headers=basic)
    assert resp.status == 400
    assert (await resp.json())["error-code-label"] == "bad request: country is required"
    resp = await api.get("/account/numbers", params={"size": "500"}, headers=basic)
    assert resp.status == 400


async def test_search_buy_cancel(api, basic, state):
    resp = await api.get("/number/search", params={"country": "GB"}, headers=basic)
    body = await resp.json()
    assert_valid("/number/search", "get", 200, body)
    offer = body["numbers"][0]
    assert offer["country"] == "GB" and offer["cost"] and offer["msisdn"].startswith("44")

    form = {"country": "GB", "msisdn": offer["msisdn"]}
    resp = await api.post("/number/buy", data=form, headers=basic)
    assert resp.status == 200 and (await resp.json())["error-code"] == "200"
    assert state.number(offer["msisdn"])["country"] == "GB"
    again = await api.post("/number/buy", data=form, headers=basic)
    assert again.status == 420
    assert_valid("/number/buy", "post", 420, await again.json())

    resp = await api.post("/number/cancel", data=form, headers=basic)
    assert (await resp.json())["error-code"] == "200"
    assert state.number(offer["msisdn"]) is None
    resp = await api.get("/number/search", params={"country": "ZZ"}, headers=basic)
    assert (await resp.json()) == {"count": 0}
