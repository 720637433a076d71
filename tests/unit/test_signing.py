"""Signed-callback tokens: what the platform sends and what serve accepts."""

from __future__ import annotations

import time

import jwt
import pytest

from vcall.signing import InvalidSignature, payload_hash, query_payload, sign, verify

SECRET = "s3cret-signature-that-is-long-enough-for-hs256"
BODY = b'{"uuid":"u","status":"started"}'


def test_sign_then_verify():
    token = sign(SECRET, BODY, api_key="abc123", application_id="app-1")
    claims = verify(token, SECRET, BODY)
    assert claims["iss"] == "Vonage" and claims["api_key"] == "abc123"
    assert claims["application_id"] == "app-1" and claims["payload_hash"] == payload_hash(BODY)
    assert "exp" not in claims and claims["jti"]


def test_query_payload_keeps_order_and_is_compact():
    assert query_payload([("to", "44"), ("from", "33")]) == b'{"to":"44","from":"33"}'


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (
            lambda t: (t, "another-secret-that-is-also-long-enough-hs256", BODY, None),
            "bad signature",
        ),
        (lambda t: (t, SECRET, BODY + b" ", None), "payload_hash"),
        (lambda t: (t, SECRET, BODY, time.time() + 301), "too old"),
        (lambda t: (t[:-2] + "xx", SECRET, BODY, None), "bad signature"),
        (lambda t: ("not-a-jwt", SECRET, BODY, None), "bad signature"),
    ],
)
def test_verify_refuses(mutate, reason):
    token, secret, body, now = mutate(sign(SECRET, BODY, api_key="k", application_id="a"))
    with pytest.raises(InvalidSignature, match=reason):
        verify(token, secret, body, now=now)


def test_verify_refuses_other_issuer_and_missing_claims():
    forged = jwt.encode(
        {"iat": int(time.time()), "jti": "j", "iss": "Mallory", "payload_hash": payload_hash(BODY)},
        SECRET,
        algorithm="HS256",
    )
    with pytest.raises(InvalidSignature, match="issuer"):
        verify(forged, SECRET, BODY)
    no_hash = jwt.encode(
        {"iat": int(time.time()), "jti": "j", "iss": "Vonage"}, SECRET, algorithm="HS256"
    )
    with pytest.raises(InvalidSignature, match="payload_hash"):
        verify(no_hash, SECRET, BODY)
