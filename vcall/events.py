"""Call events as the Voice API delivers them to the event webhook.

:func:`parse_event` checks a raw body and returns a :class:`CallEvent`: the raw bytes,
kept exactly as received, plus the normalised columns the store indexes. It raises
:class:`InvalidEvent` with a reason a person can read; the web layer turns that into a 4xx
and files the body as rejected.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

#: Fields that, when present, must be JSON strings (or null).
_STRING_FIELDS = ("uuid", "status", "conversation_uuid", "direction", "from", "to", "timestamp")
#: Fields the platform sends as strings but that a hand-written client may send as numbers.
_SCALAR_FIELDS = ("duration", "price", "rate", "network", "start_time", "end_time")
#: The exact types a scalar field may have (``bool`` is not among them, though it is an int).
_SCALAR_TYPES = frozenset({str, int, float, type(None)})
MAX_FIELD = 1024
#: The status vcall gives Vonage's error reports, which carry no uuid or status of their own.
ERROR_STATUS = "error"


class InvalidEvent(ValueError):
    """A webhook body that is not a call event; ``str()`` is the reason."""


class CallEvent(NamedTuple):
    """One event: the fields vcall indexes and the raw body as received.

    The fields are in the order the store writes them, so an event is its own row of
    parameters (a tuple is also the cheapest record to build, once per webhook).
    """

    conversation_uuid: str | None
    uuid: str
    status: str
    direction: str | None
    from_: str | None
    to: str | None
    timestamp: str | None
    duration: str | None
    price: str | None
    #: Vonage may deliver an event twice: timestamp + uuid + status identify it. The
    #: timestamp leads so that new keys land at the end of the store's unique index, as
    #: timestamps mostly grow: led by the (random) uuid, each insert would touch a random
    #: index page, which doubled the cost of storing an event.
    dedupe_key: str
    raw: bytes


def _scalar(value: str | float | None) -> str | None:
    if value is None:
        return None
    return str(value).strip()


def _is_error_report(data: dict[str, Any]) -> bool:
    reason, conversation = data.get("reason"), data.get("conversation_uuid")
    return (
        isinstance(reason, str)
        and bool(reason.strip())
        and bool(conversation and conversation.strip())
    )


def parse_event(raw: bytes) -> CallEvent:
    """Validate a JSON event body (bytes exactly as received)."""
    try:
        # orjson: a sixth of json.loads' time on an event; it also refuses invalid UTF-8.
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"body is not JSON: {exc}") from None
    return event_from_mapping(data, raw)


def event_from_mapping(data: Any, raw: bytes) -> CallEvent:
    """Validate already-decoded event fields; ``raw`` is what gets stored."""
    if not isinstance(data, dict):
        raise InvalidEvent(f"event must be a JSON object, not {type(data).__name__}")
    # Runs once per webhook: one pass over each group of fields, and the reason worked out
    # only when something is wrong.
    strings = tuple(map(data.get, _STRING_FIELDS))
    for value in strings:
        if value is not None and (type(value) is not str or len(value) > MAX_FIELD):
            raise InvalidEvent(_string_problem(data))
    scalars = tuple(map(data.get, _SCALAR_FIELDS))
    for value in scalars:
        if type(value) not in _SCALAR_TYPES:
            raise InvalidEvent(_scalar_problem(data))
    headers = data.get("headers")
    if headers is not None and not isinstance(headers, dict):
        raise InvalidEvent("field 'headers' must be an object")
    uuid, status, conversation, direction, from_, to, timestamp = [
        None if value is None else value.strip() for value in strings
    ]
    if not uuid and not status and _is_error_report(data):
        # Vonage reports a failed NCCO or answer URL as {reason, conversation_uuid, timestamp}:
        # keep it, filed under its conversation with the status "error".
        uuid, status = conversation, ERROR_STATUS
    if not uuid:
        raise InvalidEvent("missing 'uuid'")
    if not status:
        raise InvalidEvent("missing 'status'")
    return CallEvent(
        conversation,
        uuid,
        status,
        direction,
        # The platform's last event of a call has a leading space in 'from': strip on read.
        from_,
        to,
        timestamp,
        _scalar(scalars[0]),
        _scalar(scalars[1]),
        f"{timestamp or ''}|{uuid}|{status}",
        raw,
    )


def _string_problem(data: dict[str, Any]) -> str:
    for name in _STRING_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            return f"field {name!r} must be a string, not {type(value).__name__}"
        if isinstance(value, str) and len(value) > MAX_FIELD:
            return f"field {name!r} is longer than {MAX_FIELD} characters"
    raise AssertionError("called without a bad string field")


def _scalar_problem(data: dict[str, Any]) -> str:
    for name in _SCALAR_FIELDS:
        value = data.get(name)
        if type(value) not in _SCALAR_TYPES:
            return f"field {name!r} must be a string or number, not {type(value).__name__}"
    raise AssertionError("called without a bad scalar field")
