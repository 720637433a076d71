"""Call events as the Voice API delivers them to the event webhook, and as vcall stores them.

:func:`parse_event` checks a raw body and returns a :class:`CallEvent`: the raw bytes,
kept exactly as received, plus the normalised columns the store indexes. It raises
:class:`InvalidEvent` with a reason a person can read; the web layer turns that into a 4xx
and files the body as rejected. A :class:`StoredEvent` is a CallEvent with the cursor and
arrival time the store gave it, and :data:`COLUMNS` names the store's column for each field:
the event's shape is stated here, once.
"""

from __future__ import annotations

import functools
import time
from typing import Annotated, Any, NamedTuple

import msgspec

from vcall._errors import InvalidEvent
from vcall.statuses import ERROR

#: Fields that, when present, must be JSON strings (or null).
STRING_FIELDS = ("uuid", "status", "conversation_uuid", "direction", "from", "to", "timestamp")
#: Fields the platform sends as strings but that a hand-written client may send as numbers.
SCALAR_FIELDS = ("duration", "price", "rate", "network", "start_time", "end_time")
#: Fields every event has (Vonage's error reports aside: see :func:`parse_event`).
REQUIRED_FIELDS = ("uuid", "status")
#: Longest text field accepted.
MAX_FIELD = 1024
#: The answer request's parameters, in the platform's order (a signature's hash depends on it).
ANSWER_FIELDS = ("from", "to", "uuid", "conversation_uuid")
_TOO_DEEP = "body is nested too deeply"

_Text = Annotated[str, msgspec.Meta(max_length=MAX_FIELD)] | None
#: ``bool`` is not among these (msgspec, unlike isinstance, does not take it for an int).
_Scalar = str | int | float | None


class _Fields(msgspec.Struct):
    """The fields vcall checks, as msgspec decodes them (any others are left alone).

    msgspec checks the types while it parses, in C: a sixth of what decoding to a dict and
    checking it in Python cost on every webhook.
    """

    uuid: _Text = None
    status: _Text = None
    conversation_uuid: _Text = None
    direction: _Text = None
    from_: _Text = msgspec.field(default=None, name="from")
    to: _Text = None
    timestamp: _Text = None
    duration: _Scalar = None
    price: _Scalar = None
    rate: _Scalar = None
    network: _Scalar = None
    start_time: _Scalar = None
    end_time: _Scalar = None
    headers: dict[str, Any] | None = None
    #: Vonage's error reports carry a reason instead of a uuid and status.
    reason: Any = None


_decode_fields = msgspec.json.Decoder(_Fields).decode


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


#: An event as stored: its cursor (``id``) and arrival time, then every :class:`CallEvent`
#: field in the same order (a named tuple: one is built for every event stored, and a tuple
#: is the cheapest record).
StoredEvent = NamedTuple(  # type: ignore[misc]  # the fields are CallEvent's, not restated
    "StoredEvent", [("id", int), ("received_at", str), *CallEvent.__annotations__.items()]
)


def _column(field: str) -> str:
    # ``from_`` is ``from`` in the body and in the store; every name is quoted, as "from" and
    # "to" are SQL keywords.
    return '"' + field.removesuffix("_") + '"'


#: The store's column for each :class:`StoredEvent` field, in order.
COLUMNS = tuple(_column(field) for field in StoredEvent._fields)


def parse_event(raw: bytes) -> CallEvent:
    """Validate a JSON event body (bytes exactly as received)."""
    try:
        fields = _decode_fields(raw)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise InvalidEvent(_why_not(raw, exc)) from None
    return _event(fields, raw)


def event_from_mapping(data: Any, raw: bytes) -> CallEvent:
    """Validate already-decoded event fields; ``raw`` is what gets stored."""
    try:
        fields = msgspec.convert(data, _Fields)
    except msgspec.ValidationError as exc:
        raise InvalidEvent(_problem(data, exc)) from None
    except RecursionError:
        raise InvalidEvent(_TOO_DEEP) from None
    return _event(fields, raw)


def _event(f: _Fields, raw: bytes) -> CallEvent:
    # Fields are stripped in line (``x and x.strip()`` keeps None): a helper function called
    # nine times a webhook showed in its instruction count (bench/instructions.py).
    uuid, status = f.uuid and f.uuid.strip(), f.status and f.status.strip()
    conversation = f.conversation_uuid and f.conversation_uuid.strip()
    timestamp = f.timestamp and f.timestamp.strip()
    duration, price, reason = f.duration, f.price, f.reason
    if not uuid and not status and conversation and isinstance(reason, str) and reason.strip():
        # Vonage reports a failed NCCO or answer URL as {reason, conversation_uuid, timestamp}:
        # keep it, filed under its conversation with the status "error".
        uuid, status = conversation, ERROR
    if not uuid:
        raise InvalidEvent("missing 'uuid'")
    if not status:
        raise InvalidEvent("missing 'status'")
    # tuple.__new__: a named tuple's own constructor is a Python function, and costs as much
    # again as everything else here.
    return tuple.__new__(
        CallEvent,
        (
            conversation,
            uuid,
            status,
            f.direction and f.direction.strip(),
            # The platform's last event of a call has a leading space in 'from': strip it.
            f.from_ and f.from_.strip(),
            f.to and f.to.strip(),
            timestamp,
            # Numbers (a hand-written client's) are kept as the text the platform would send.
            None if duration is None else str(duration).strip(),
            None if price is None else str(price).strip(),
            f"{timestamp or ''}|{uuid}|{status}",
            raw,
        ),
    )


def _why_not(raw: bytes, error: Exception) -> str:
    """Why ``raw`` is not an event, in words: worked out only on failure (msgspec stops at
    the first fault, and a body with a field at fault may also be malformed further on)."""
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:  # malformed JSON, or invalid UTF-8
        return f"body is not JSON: {exc}"
    except RecursionError:  # msgspec's guard against arrays in arrays in arrays…
        return _TOO_DEEP
    return _TOO_DEEP if isinstance(error, RecursionError) else _problem(data, error)


def _problem(data: Any, error: msgspec.ValidationError) -> str:
    """The reason ``data`` failed validation, in words (worked out only on failure)."""
    if not isinstance(data, dict):
        return f"event must be a JSON object, not {type(data).__name__}"
    for name in STRING_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            return f"field {name!r} must be a string, not {type(value).__name__}"
        if isinstance(value, str) and len(value) > MAX_FIELD:
            return f"field {name!r} is longer than {MAX_FIELD} characters"
    for name in SCALAR_FIELDS:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, str | int | float | None):
            return f"field {name!r} must be a string or number, not {type(value).__name__}"
    if not isinstance(data.get("headers"), dict | None):
        return "field 'headers' must be an object"
    return f"invalid event: {error}"


def utc_now() -> str:
    """Now as ISO-8601 UTC with milliseconds, like the platform's timestamps."""
    now = time.time()
    return f"{_utc_second(int(now))}.{int(now * 1000) % 1000:03d}Z"


@functools.lru_cache(maxsize=1)
def _utc_second(second: int) -> str:
    # Formatted once a second: every answer request is stamped as it arrives.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
