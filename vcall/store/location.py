"""Where a store is (``--store``, ``VCALL_STORE``): a SQLite file, or a PostgreSQL URL, and how
to name it in a message without its password."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

#: URL schemes that name a PostgreSQL database (any other location is a SQLite file).
PG_SCHEMES = ("postgresql", "postgres")


def is_postgres(location: str | Path) -> bool:
    """Whether ``location`` names a PostgreSQL database."""
    return isinstance(location, str) and location.partition("://")[0].lower() in PG_SCHEMES


def shown(location: str | Path) -> str:
    """``location`` as it may be printed or logged: a URL without its password."""
    if not is_postgres(location):
        return str(location)
    try:
        parts = urlsplit(str(location))
        password = parts.password
    except ValueError:  # not a URL urllib can read: show only what names the database kind
        return str(location).partition("://")[0] + "://…"
    if password is None:
        return str(location)
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def password(location: str | Path) -> str | None:
    """The password a PostgreSQL URL holds, if any (to keep out of every message)."""
    if not is_postgres(location):
        return None
    try:
        secret = urlsplit(str(location)).password
    except ValueError:
        return None
    return unquote(secret) if secret else None
