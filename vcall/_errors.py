"""The errors vcall raises on purpose: one tree, each class with its HTTP status and exit code.

    VcallError                 anything vcall expects and can explain in one line   500  1
    ├── ConfigError            settings, flags, key or state files missing or wrong  400  2
    ├── InvalidInput           a request or value is not what it must be             400  2
    │   ├── InvalidEvent       a webhook body that is not a call event               400  2
    │   ├── NotAllowed         a method the route does not take                      405  2
    │   ├── InvalidParameter   one field of a request, named, is wrong               400  2
    │   └── UnreadableBody     a webhook body that cannot be read                    400  2
    │       ├── BodyTooLarge   over the size limit                                   413  2
    │       └── BodyTimeout    not sent in time                                      408  2
    ├── NotFound               what was asked for does not exist                     404  1
    ├── Refused                a key, signature, token or person said no             401  2
    │   ├── Forbidden          not from here (another site's page)                   403  2
    │   ├── InvalidSignature   a webhook not signed with the expected secret         401  2
    │   └── SessionRefused     a Client SDK JWT refused by the sandbox               401  2
    ├── Conflict               not possible in the current state (live mode, taken)  409  2
    ├── StoreError             the event store could not be opened or written        503  1
    └── RemoteError            another server failed or could not be reached         502  1
        ├── WebhookFailed      an application's webhook did not take a request       502  1
        ├── TunnelError        a tunnel gave no public URL, or it does not lead here 502  1
        └── GatewayError       a Vonage API (live or sandbox) refused or failed      502  1
            ├── AuthError      401/403: wrong key, secret or JWT                     401  1
            ├── RateLimited    429                                                   429  1
            └── UpstreamError  5xx, unreachable host, unexpected answers             502  1

Exit code 2 says: run it again differently (fix a setting, a flag, the input, or what is in
the way); 1 says: it could not be done. Each edge maps the tree in one place: the CLI in
:func:`vcall.cli._common.handles_errors` (``Error: <message>`` on stderr, ``exit_code``), the
server in :func:`vcall.web.answers.failure` (``status``, ``{"ok": false, "error": message}``);
and :func:`for_answer` reads a vcall server's refusal back into the tree. Anything else is a
bug and shows a traceback.
"""

from __future__ import annotations

from typing import TypeVar

E = TypeVar("E", bound="VcallError")


class VcallError(Exception):
    """Base class: an expected failure with a message meant for a person."""

    exit_code: int = 1
    status: int = 500
    #: Seconds a client should wait before trying again (``Retry-After``), when it may.
    retry_after: int | None = None
    #: The error's name in a protocol that has its own (the Client SDK's
    #: ``conversation:error:not-found``); see :func:`coded`.
    code: str | None = None


class ConfigError(VcallError):
    """Missing or invalid configuration: settings, flags, key material, vcall's own files."""

    exit_code = 2
    status = 400


class InvalidInput(VcallError):
    """A request (its body or parameters) or a value given to vcall is malformed."""

    exit_code = 2
    status = 400


class InvalidEvent(InvalidInput):
    """A webhook body that is not a call event; ``str()`` is the reason."""


class NotAllowed(InvalidInput):
    """An HTTP method the route does not take (answered with ``Allow``)."""

    status = 405


class InvalidParameter(InvalidInput):
    """One field of a request is missing or malformed: ``name`` says which, ``reason`` why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class UnreadableBody(InvalidInput):
    """A request body that cannot be taken; ``head`` is what was read of it."""

    def __init__(self, reason: str, head: bytes = b"") -> None:
        super().__init__(reason)
        self.head = head


class BodyTooLarge(UnreadableBody):
    """The body passed the size limit."""

    status = 413


class BodyTimeout(UnreadableBody):
    """The client did not send its whole body in time (a slow sender)."""

    status = 408


class NotFound(VcallError):
    """What was asked for does not exist (a stored event, a call, a number, an API resource)."""

    status = 404


class Refused(VcallError):
    """A key, a signature, a token, or the person asked, said no."""

    exit_code = 2
    status = 401


class Forbidden(Refused):
    """Refused whoever asks, from where it came (another site's page)."""

    status = 403


class InvalidSignature(Refused):
    """The request is not signed by the expected secret; ``str()`` says why."""


class SessionRefused(Refused):
    """A Client SDK JWT was not accepted (by the sandbox); ``code`` is the SDK's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Conflict(VcallError):
    """Not possible in the current state: serving live, a number linked elsewhere, a port taken."""

    exit_code = 2
    status = 409


class StoreError(VcallError):
    """The event store could not be opened or written."""

    status = 503
    retry_after = 5


class RemoteError(VcallError):
    """Another server (Vonage, the sandbox, a vcall serve, a webhook URL) failed, could not be
    reached, or answered something unexpected."""

    status = 502


class WebhookFailed(RemoteError):
    """A webhook could not be delivered (after its retry); ``str()`` says why."""


class TunnelError(RemoteError):
    """The tunnel program gave no public URL, or that URL does not reach this server."""


class GatewayError(RemoteError):
    """A Vonage API call (live or sandbox) failed."""


class AuthError(GatewayError):
    """The API refused our credentials."""

    status = 401


class RateLimited(GatewayError):
    """The API asked us to slow down."""

    status = 429


class UpstreamError(GatewayError):
    """The API failed, answered something unexpected, or could not be reached."""


#: A vcall server's refusals by HTTP status, read back by its clients (:func:`for_answer`).
_BY_STATUS: dict[int, type[VcallError]] = {
    cls.status: cls for cls in (InvalidInput, Refused, NotFound, Conflict, StoreError)
}
_BY_STATUS[Forbidden.status] = Forbidden


def coded(error: E, code: str) -> E:
    """``error`` with its name in the protocol it is answered in (:attr:`VcallError.code`)."""
    error.code = code
    return error


def for_answer(status: int, message: str) -> VcallError:
    """The error a vcall server's non-2xx answer stands for: ``status`` read back into the tree
    (anything else is a :class:`RemoteError`)."""
    return _BY_STATUS.get(status, RemoteError)(message)
