"""The token doctor: what in a client JWT would break a real Client SDK session.

``vcall token --decode TOKEN`` prints the claims and these findings, one line each:

- ``exp`` in milliseconds (a JavaScript ``Date.now()`` habit): Vonage reads seconds, so the
  token looks valid for tens of thousands of years and is refused;
- ``exp`` in the past, or more than 24 h after ``iat`` (the longest Vonage accepts);
- a ``sub`` that is not a user of the application (the session cannot start);
- an ``acl`` that leaves out a path the Client SDK calls (sessions, conversations, legs,
  users: the ``minimal`` preset of :mod:`vcall.tokens`);
- an ``application_id`` other than the configured application's;
- a signature that does not verify with the configured private key (signed by another key).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from vcall.acl import grants
from vcall.checks import Check
from vcall.tokens import MAX_TTL

#: An ``exp`` above this is not seconds: as seconds it is past the year 5000.
_MILLISECONDS = 10**11


#: A request path of each kind the Client SDK calls (refreshSession, answer and hang up,
#: leg updates, the user's own record), as the Conversation API names them.
SDK_PATHS: dict[str, str] = {
    "sessions": "/v0.2/sessions/SESSION-1",
    "conversations": "/v0.3/conversations/CON-1/members/MEM-1",
    "legs": "/v0.1/legs/LEG-1",
    "users": "/v0.1/users/USR-1",
}


#: The fix for most findings: a token as vcall mints it.
_MINT = "vcall token USER (seconds, at most 24 h, the Client SDK's paths, the configured key)"


def _when(seconds: float) -> str:
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%d %H:%M:%S} UTC"


def _expiry(claims: dict[str, Any], now: float) -> list[Check]:
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return [
            Check("exp", False, "no numeric exp claim: Vonage refuses a token without one", _MINT)
        ]
    if exp > _MILLISECONDS:
        return [
            Check(
                "exp",
                False,
                f"exp {exp} is in milliseconds; Vonage reads seconds "
                f"(it means {_when(exp / 1000)})",
                "divide exp by 1000 where the token is made, or " + _MINT,
            )
        ]
    found = []
    if exp <= now:
        found.append(Check("exp", False, f"expired at {_when(exp)}", _MINT))
    else:
        found.append(Check("exp", True, f"expires at {_when(exp)}"))
    start = iat if isinstance(iat, int | float) and not isinstance(iat, bool) else now
    if exp - start > MAX_TTL:
        hours = (exp - start) / 3600
        found.append(
            Check(
                "lifetime",
                False,
                f"valid for {hours:.1f} h; Vonage accepts client tokens of at most 24 h",
                _MINT,
            )
        )
    return found


def _acl(claims: dict[str, Any]) -> Check:
    acl = claims.get("acl")
    if acl is None:
        return Check("acl", True, "no acl claim: the token is not limited to some paths")
    missing = [kind for kind, path in SDK_PATHS.items() if not grants(acl, path)]
    if missing:
        return Check(
            "acl",
            False,
            f"the acl does not grant the Client SDK's {', '.join(missing)} paths "
            f"(e.g. {SDK_PATHS[missing[0]]})",
            "vcall token USER --acl-preset minimal (or tutorial)",
        )
    return Check("acl", True, "the acl grants every path the Client SDK uses")


def examine(
    claims: dict[str, Any],
    *,
    signature_valid: bool | None,
    application_id: str | None = None,
    sub_is_user: bool | None = None,
    users_unknown: str = "no application configured",
    now: float | None = None,
) -> list[Check]:
    """Every finding about a decoded token.

    ``signature_valid`` is :func:`vcall.tokens.decode`'s verdict (None: no key configured);
    ``sub_is_user`` whether the application has a user named ``sub`` (None: not known, for
    the reason ``users_unknown``).
    """
    current = time.time() if now is None else now
    found = _expiry(claims, current)
    found.append(_sub(claims.get("sub"), sub_is_user, users_unknown))
    found.append(_acl(claims))
    token_app = claims.get("application_id")
    if application_id and token_app != application_id:
        found.append(
            Check(
                "application_id",
                False,
                f"made for application {token_app}, not the configured {application_id}",
                _MINT,
            )
        )
    if signature_valid is None:
        found.append(Check("signature", None, "not checked: no private key configured"))
    elif signature_valid:
        found.append(Check("signature", True, "signed by the configured private key"))
    else:
        found.append(
            Check(
                "signature",
                False,
                "signed by another key, not the configured private key: Vonage will refuse it",
                _MINT,
            )
        )
    return found


def _sub(sub: Any, is_user: bool | None, unknown: str) -> Check:
    if not isinstance(sub, str) or not sub:
        return Check("sub", False, "no sub claim: the session needs the user's name", _MINT)
    if is_user is None:
        return Check("sub", None, f"user {sub!r} not checked: {unknown}")
    if is_user:
        return Check("sub", True, f"{sub!r} is a user of the application")
    return Check(
        "sub",
        False,
        f"{sub!r} is not a user of the application",
        f"vcall setup --user {sub} (creates it), or mint for an existing user",
    )
