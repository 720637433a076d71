"""The token doctor flags what breaks a real Client SDK session, and passes a good token."""

from __future__ import annotations

import time

import pytest

from vcall import tokens
from vcall.acl import grants
from vcall.keygen import new_key_pair
from vcall.token_doctor import SDK_PATHS, examine

APP = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
NOW = 1_750_000_000


def claims_of(token: str) -> dict:
    return tokens.decode(token)[0]


def problems(findings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each failed check's detail and fix, as one line."""
    return {f.name: f"{f.detail} → {f.fix}" for f in findings if f.ok is False}


def test_a_token_vcall_mints_has_no_problem(app_key):
    token = tokens.mint(APP, app_key, "Alice", ttl=3600, now=NOW)
    claims, valid = tokens.decode(token, tokens.public_key_pem(app_key))
    found = examine(claims, signature_valid=valid, application_id=APP, sub_is_user=True, now=NOW)
    assert problems(found) == {}
    assert {f.name for f in found} == {"exp", "sub", "acl", "signature"}


@pytest.mark.parametrize("preset", ["tutorial", "minimal"])
def test_both_presets_grant_every_path_the_sdk_calls(preset):
    assert all(grants(tokens.ACL_PRESETS[preset], path) for path in SDK_PATHS.values())


def test_acl_patterns_match_as_vonage_reads_them():
    acl = {"paths": {"/*/users/*": {}, "/v0.3/conversations/**": {}}}
    assert grants(acl, "/v0.1/users/USR-1")
    assert not grants(acl, "/v0.1/users/USR-1/conversations")  # * is one segment
    assert grants(acl, "/v0.3/conversations/CON-1/members/MEM-1")
    assert not grants(acl, "/v0.2/conversations/CON-1")
    assert not grants({"paths": "everything"}, "/v0.1/users/USR-1")


def test_exp_in_milliseconds_is_named():
    claims = {"sub": "Alice", "iat": NOW, "exp": (NOW + 3600) * 1000, "application_id": APP}
    found = problems(examine(claims, signature_valid=True, sub_is_user=True, now=NOW))
    assert (
        "exp" in found and "milliseconds" in found["exp"] and "divide exp by 1000" in found["exp"]
    )


def test_an_expired_or_too_long_token_is_named():
    expired = {"sub": "Alice", "iat": NOW - 7200, "exp": NOW - 3600}
    assert "expired at" in problems(examine(expired, signature_valid=True, now=NOW))["exp"]
    long = {"sub": "Alice", "iat": NOW, "exp": NOW + 48 * 3600}
    assert "valid for 48.0 h" in problems(examine(long, signature_valid=True, now=NOW))["lifetime"]


def test_a_sub_that_is_not_a_user_is_named():
    claims = {"sub": "Bob", "iat": NOW, "exp": NOW + 60}
    found = problems(examine(claims, signature_valid=True, sub_is_user=False, now=NOW))
    assert "'Bob' is not a user of the application" in found["sub"]
    assert "vcall setup --user Bob" in found["sub"]
    unchecked = examine(claims, signature_valid=True, users_unknown="no application", now=NOW)
    assert [f.detail for f in unchecked if f.name == "sub"] == [
        "user 'Bob' not checked: no application"
    ]


def test_an_acl_without_the_sdk_paths_is_named():
    claims = {"sub": "Alice", "iat": NOW, "exp": NOW + 60, "acl": {"paths": {"/*/users/**": {}}}}
    message = problems(examine(claims, signature_valid=True, now=NOW))["acl"]
    assert "sessions, conversations, legs paths" in message and "/v0.2/sessions/" in message


def test_another_key_and_another_application_are_named(app_key):
    other, _ = new_key_pair()
    token = tokens.mint("another-app", other, "Alice", now=int(time.time()))
    claims, valid = tokens.decode(token, tokens.public_key_pem(app_key))
    found = problems(examine(claims, signature_valid=valid, application_id=APP))
    assert "signed by another key" in found["signature"]
    assert f"not the configured {APP}" in found["application_id"]
