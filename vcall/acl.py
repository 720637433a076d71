"""Client JWT ACLs: whether an ``acl`` claim grants a request.

An ``acl`` is ``{"paths": {pattern: rule}}``. A pattern is a glob over the request path: ``*``
stands for one path segment, ``**`` for any rest (``/**`` for none, too). A rule may narrow the methods
(``{"methods": ["GET"]}``); an empty rule allows them all. A token with no ``acl`` claim is not
limited to some paths (the JWTs a backend SDK signs carry none).
"""

from __future__ import annotations

import functools
import re
from typing import Any


def grants(acl: Any, path: str, method: str | None = None) -> bool:
    """Whether ``acl`` (an ``acl`` claim, None when the token has none) allows ``method path``."""
    if acl is None:
        return True
    paths = acl.get("paths") if isinstance(acl, dict) else None
    if not isinstance(paths, dict):
        return False
    for pattern, rule in paths.items():
        if not isinstance(pattern, str) or not _glob(pattern).fullmatch(path):
            continue
        methods = rule.get("methods") if isinstance(rule, dict) else None
        if not methods or method is None or method.upper() in {str(m).upper() for m in methods}:
            return True
    return False


@functools.lru_cache(maxsize=64)
def _glob(pattern: str) -> re.Pattern[str]:
    # "/**" also matches nothing at all: "/*/users/**" grants "/v1/users" itself.
    tokens = {"/**": "(?:/.*)?", "**": ".*", "*": "[^/]+"}
    parts = re.split(r"(/\*\*|\*\*|\*)", pattern)
    return re.compile("".join(tokens.get(p) or re.escape(p) for p in parts))
