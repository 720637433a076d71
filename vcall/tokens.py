"""Client JWTs for the browser SDK: RS256, signed with the application's private key.

Signing is PyJWT's, with the claims the SDK's ``vonage_jwt`` sets (``application_id``, ``iat``,
``jti``, ``exp``) plus ``sub`` and ``acl``; ``exp`` is in seconds. ``vonage_jwt`` itself is a
thin layer over PyJWT that imports pydantic, which would double ``vcall token``'s start-up.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization

from vcall._errors import ConfigError, InvalidInput

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

#: The longest lifetime Vonage accepts for a client token.
MAX_TTL = 24 * 3600
DEFAULT_TTL = 6 * 3600

_TUTORIAL_PATHS = (
    "/*/users/**",
    "/*/conversations/**",
    "/*/sessions/**",
    "/*/devices/**",
    "/*/image/**",
    "/*/media/**",
    "/*/applications/**",
    "/*/push/**",
    "/*/knocking/**",
    "/*/legs/**",
)
#: ACL presets: ``tutorial`` is what the Vonage tutorial grants; ``minimal`` is enough to
#: log in and take calls.
ACL_PRESETS: dict[str, dict[str, Any]] = {
    "tutorial": {"paths": {p: {} for p in _TUTORIAL_PATHS}},
    "minimal": {
        "paths": {
            p: {} for p in ("/*/sessions/**", "/*/conversations/**", "/*/legs/**", "/*/users/**")
        }
    },
}

_TTL_RE = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str | int) -> int:
    """``"90m"``, ``"6h"``, ``"3600"`` or ``3600`` → seconds; 1 s to 24 h."""
    match = _TTL_RE.match(str(text))
    if not match:
        raise ConfigError(
            f"invalid TTL {text!r}: use seconds or a number with s, m, h (e.g. 90m, 6h)"
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds <= 0:
        raise ConfigError("TTL must be at least one second")
    if seconds > MAX_TTL:
        raise ConfigError(
            f"TTL {text} is more than 24 h, the longest Vonage accepts for a client token"
        )
    return seconds


def parse_acl(text: str) -> dict[str, Any]:
    """Validate an ACL given as JSON: ``{"paths": {"/*/path/**": {...}, ...}}``."""
    try:
        acl = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--acl is not valid JSON: {exc}") from exc
    paths = acl.get("paths") if isinstance(acl, dict) else None
    if not isinstance(paths, dict) or not paths:
        raise ConfigError('--acl must look like {"paths": {"/*/sessions/**": {}, ...}}')
    for path, rule in paths.items():
        if not path.startswith("/") or not isinstance(rule, dict):
            raise ConfigError(f"--acl path {path!r} must start with / and map to an object")
    return acl


def load_private_key(value: str, *, check: bool = True) -> str:
    """A private key given as a path or PEM text → PKCS#8 PEM text (what vonage_jwt accepts).

    PKCS#1 (``BEGIN RSA PRIVATE KEY``) keys, as older tools write them, are converted.
    ``check`` as for :func:`load_key`.
    """
    return (
        load_key(value, check=check)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def load_key(value: str, *, check: bool = True) -> PrivateKeyTypes:
    """A private key given as a path or PEM text (PKCS#1 or #8), ready to sign.

    ``check`` runs OpenSSL's RSA consistency check (primality of p and q), a large share of
    ``vcall token``'s run. That command skips it, since :func:`mint` verifies every token it
    signs against the key's public half, which catches an inconsistent key far more cheaply.
    """
    if "-----BEGIN" in value:
        pem = value.encode()
    else:
        path = Path(value).expanduser()
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"private key file {path} not found") from None
        except OSError as exc:
            raise ConfigError(f"cannot read private key file {path}: {exc.strerror}") from None
    try:
        return serialization.load_pem_private_key(
            pem, password=None, unsafe_skip_rsa_key_validation=not check
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the private key is not a usable unencrypted PEM key ({exc})") from None


def public_key_pem(private_pem: str) -> str:
    """The SubjectPublicKeyInfo PEM that matches a private key.

    The key's consistency check is skipped: the public half is read off it, not computed
    (what signs with the key checks it).
    """
    key = serialization.load_pem_private_key(
        private_pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
    )
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def mint(
    application_id: str,
    private_key: str | PrivateKeyTypes,
    sub: str,
    *,
    ttl: int = DEFAULT_TTL,
    acl: dict[str, Any] | None = None,
    now: int | None = None,
) -> str:
    """A client JWT for user ``sub``; ``exp`` is ``iat + ttl`` in seconds.

    ``private_key`` is PEM text or, cheaper, a key from :func:`load_key`. The token is verified
    with the key's public half before it is returned.
    """
    key = load_key(private_key) if isinstance(private_key, str) else private_key

    iat = int(time.time()) if now is None else now
    claims = {
        "application_id": application_id,
        "sub": sub,
        "acl": acl if acl is not None else ACL_PRESETS["tutorial"],
        "iat": iat,
        "exp": iat + ttl,
        "jti": str(uuid.uuid4()),
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"typ": "JWT"})
    try:
        jwt.api_jws.decode(token, key.public_key(), algorithms=["RS256"])
    except jwt.InvalidSignatureError:
        raise ConfigError(
            "the private key is inconsistent: what it signs does not verify"
        ) from None
    return token


def decode(token: str, public_pem: str | None = None) -> tuple[dict[str, Any], bool | None]:
    """The claims of ``token`` and whether its signature verifies (None: no key to check)."""
    try:
        claims = jwt.decode(token.strip(), options={"verify_signature": False})
    except jwt.DecodeError as exc:
        raise InvalidInput(f"not a JWT: {exc}") from None
    if public_pem is None:
        return claims, None
    try:
        jwt.decode(
            token.strip(),
            public_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_aud": False},
        )
    except jwt.InvalidTokenError:
        return claims, False
    return claims, True
