"""Client JWTs: claims, lifetimes, key formats."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from vcall import tokens
from vcall._errors import ConfigError

APP_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


def _key(fmt: serialization.PrivateFormat) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, fmt, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="module")
def pkcs8() -> tuple[str, str]:
    return _key(serialization.PrivateFormat.PKCS8)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90m", 5400),
        ("6h", 21600),
        ("3600", 3600),
        (3600, 3600),
        ("45s", 45),
        ("1d", 86400),
        ("24h", 86400),
    ],
)
def test_parse_ttl(text, seconds):
    assert tokens.parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["25h", "86401", "2d", "0", "-5", "six hours", "6x", ""])
def test_parse_ttl_refuses(text):
    with pytest.raises(ConfigError):
        tokens.parse_ttl(text)


def test_token_claims_verify_with_public_key(pkcs8):
    private, public = pkcs8
    token = tokens.mint(APP_ID, private, "Alice", ttl=5400)
    claims = jwt.decode(token, public, algorithms=["RS256"])
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert claims["application_id"] == APP_ID and claims["sub"] == "Alice"
    assert claims["exp"] - claims["iat"] == 5400
    assert claims["exp"] < 10**10  # seconds, not the Vonage CLI's milliseconds
    assert (
        set(claims["acl"]["paths"]) == set(tokens._TUTORIAL_PATHS)
        and len(claims["acl"]["paths"]) == 10
    )
    assert claims["jti"]


def test_pkcs1_key_is_converted(pkcs8, tmp_path):
    private1, public = _key(serialization.PrivateFormat.TraditionalOpenSSL)
    assert "BEGIN RSA PRIVATE KEY" in private1
    path = tmp_path / "app.key"
    path.write_text(private1)
    for given in (private1, str(path)):
        pem = tokens.load_private_key(given)
        assert pem.startswith("-----BEGIN PRIVATE KEY-----")
        jwt.decode(tokens.mint(APP_ID, pem, "Alice"), public, algorithms=["RS256"])


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("/nonexistent/key.pem", "not found"),
        ("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----", "not a usable"),
    ],
)
def test_bad_keys_are_config_errors(given, message):
    with pytest.raises(ConfigError, match=message):
        tokens.load_private_key(given)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"paths": []}',
        '{"paths": {}}',
        '{"paths": {"nolead": {}}}',
        '{"paths": {"/x": 1}}',
    ],
)
def test_parse_acl_refuses(text):
    with pytest.raises(ConfigError):
        tokens.parse_acl(text)


def test_decode_reports_signature(pkcs8):
    private, public = pkcs8
    token = tokens.mint(APP_ID, private, "Bob", ttl=60)
    claims, valid = tokens.decode(token, public)
    assert claims["sub"] == "Bob" and valid is True
    _, other_public = _key(serialization.PrivateFormat.PKCS8)
    assert tokens.decode(token, other_public)[1] is False


def test_unchecked_key_that_signs_wrongly_is_refused(pkcs8):
    """``vcall token`` skips OpenSSL's slow key check: mint's own verification must catch it."""
    good = serialization.load_pem_private_key(pkcs8[0].encode(), password=None).private_numbers()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
    mixed = rsa.RSAPrivateNumbers(
        good.p, good.q, other.d, other.dmp1, other.dmq1, good.iqmp, good.public_numbers
    ).private_key(unsafe_skip_rsa_key_validation=True)
    pem = mixed.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ConfigError, match="does not verify"):
        tokens.mint(APP_ID, tokens.load_key(pem, check=False), "Alice")
    with pytest.raises(ConfigError, match="not a usable"):
        tokens.load_key(pem)
    token = tokens.mint(APP_ID, tokens.load_key(pkcs8[0], check=False), "Alice")
    assert jwt.decode(token, pkcs8[1], algorithms=["RS256"])["sub"] == "Alice"


def test_same_token_as_the_sdks_vonage_jwt(pkcs8):
    """vcall signs with PyJWT (vonage_jwt's own engine) to keep `vcall token` fast; what it
    mints must be what the SDK's vonage_jwt mints for the same claims."""
    from vonage_jwt import JwtClient

    private, public = pkcs8
    ours = tokens.mint(APP_ID, private, "Alice", ttl=3600)
    claims = jwt.decode(ours, public, algorithms=["RS256"])
    theirs = JwtClient(APP_ID, private).generate_application_jwt(
        {k: claims[k] for k in ("sub", "acl", "iat", "exp", "jti")}
    )
    assert jwt.get_unverified_header(ours) == jwt.get_unverified_header(theirs)
    assert jwt.decode(theirs, public, algorithms=["RS256"]) == claims
