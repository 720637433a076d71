"""The errors vcall raises on purpose.

    VcallError                 anything vcall expects and can explain in one line
    ├── ConfigError            missing or bad settings, keys, flags (exit code 2)
    ├── StoreError             the event store could not be opened or written
    └── GatewayError           a Vonage API (live or sandbox) refused or failed
        ├── AuthError          401/403: wrong key, secret or JWT
        ├── NotFound           404
        ├── RateLimited        429
        └── UpstreamError      5xx, unreachable host, unexpected answers

The CLI prints ``Error: <message>`` for these and exits with ``exit_code``; the web
layer turns ``status`` into an HTTP status. Anything else is a bug and shows a traceback.
"""

from __future__ import annotations


class VcallError(Exception):
    """Base class: an expected failure with a message meant for a person."""

    exit_code: int = 1
    status: int = 500


class ConfigError(VcallError):
    """Missing or invalid configuration, flags or key material."""

    exit_code = 2
    status = 400


class StoreError(VcallError):
    """The event store could not be opened or written."""

    status = 503


class GatewayError(VcallError):
    """A Vonage API call (live or sandbox) failed."""

    status = 502


class AuthError(GatewayError):
    """The API refused our credentials."""

    status = 401


class NotFound(GatewayError):
    """The API has no such resource."""

    status = 404


class RateLimited(GatewayError):
    """The API asked us to slow down."""

    status = 429


class UpstreamError(GatewayError):
    """The API failed, answered something unexpected, or could not be reached."""
