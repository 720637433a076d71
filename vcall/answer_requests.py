"""Answer requests as vcall serve keeps them: each request to the answer (or fallback) URL as
received, the signature check's outcome, what was answered and how long it took.

The store writes them with its next batch, and the answer never waits for that: the answer is
not an acknowledgement of data (a request the store could not keep is lost from the record,
never from the call). :data:`COLUMNS` names the store's column for each field, in order: the
shape is stated here, once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import msgspec

#: The signature check's outcome when the request carried a valid Vonage signature, and when
#: vcall serve checks none (``--no-verify``, or no secret); a refusal is kept as its reason.
VERIFIED = "verified"
NOT_CHECKED = "not checked"


class AnswerRequest(NamedTuple):
    """One request for an NCCO, in the order the store writes its columns."""

    #: When the request arrived (ISO-8601 UTC with milliseconds, like a stored event's).
    received_at: str
    conversation_uuid: str | None
    #: The caller's leg (the platform's ``uuid`` parameter).
    uuid: str | None
    #: ``/voice/answer`` or ``/voice/fallback``.
    path: str
    method: str
    #: The query string exactly as received ("" when none).
    query: str
    #: The body exactly as received (None when the request had none).
    body: bytes | None
    #: :data:`VERIFIED`, :data:`NOT_CHECKED`, or why the signature was refused.
    signature: str
    #: The HTTP status answered, and the answer's body (the NCCO, or the refusal).
    status: int
    response: bytes
    #: Milliseconds from the request reaching vcall serve's handler to the answer being ready.
    took_ms: float


#: An answer request as stored: its id, then every :class:`AnswerRequest` field in order.
StoredAnswer = NamedTuple(  # type: ignore[misc]  # the fields are AnswerRequest's, not restated
    "StoredAnswer", [("id", int), *AnswerRequest.__annotations__.items()]
)
#: The store's column for each :class:`StoredAnswer` field, in order.
COLUMNS = tuple(StoredAnswer._fields)


class _Ids(msgspec.Struct):
    """The two fields of an answer body that file it under its call (others are left alone)."""

    conversation_uuid: str | None = None
    uuid: str | None = None


_decode_ids = msgspec.json.Decoder(_Ids).decode


def call_ids(query: Mapping[str, str], body: bytes | None) -> tuple[str | None, str | None]:
    """The conversation and leg an answer request belongs to, from its body (POST) or its
    query parameters; None for what the request does not say."""
    if body:
        try:
            ids = _decode_ids(body)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return None, None
        return ids.conversation_uuid or None, ids.uuid or None
    return query.get("conversation_uuid") or None, query.get("uuid") or None


#: How long before a call's first stored event, and after its last, its answer requests are
#: looked for: they come as the call starts (retries and the fallback within seconds), and a
#: call's first event may be stored late (the platform retries webhooks).
LOOK_BEFORE = timedelta(minutes=5)
LOOK_AFTER = timedelta(minutes=1)


def around(first: str, last: str) -> tuple[str, str]:
    """The arrival times (``since``, ``until``) to look for a call's answer requests in,
    given its first and last stored events' arrival times.

    The store finds answer requests by arrival time: an index by call would cost every answer
    request's insert a random page of the index (bench/README.md), an index by time an append.
    """
    start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (first, last))
    return _iso(start - LOOK_BEFORE), _iso(end + LOOK_AFTER)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def answer_json(answer: StoredAnswer) -> dict[str, Any]:
    """A stored answer request as the inspector's API shows it (bodies as text)."""
    return {
        "id": answer.id,
        "received_at": answer.received_at,
        "path": answer.path,
        "method": answer.method,
        "query": answer.query,
        "body": None if answer.body is None else answer.body.decode(errors="replace"),
        "signature": answer.signature,
        "status": answer.status,
        "response": answer.response.decode(errors="replace"),
        "took_ms": answer.took_ms,
    }


def query_fields(query: str) -> dict[str, str]:
    """A stored query string as the fields it carried, in order (to send it again)."""
    return dict(parse_qsl(query, keep_blank_values=True))


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started`` (a :func:`time.perf_counter` reading), to the microsecond."""
    return round((time.perf_counter() - started) * 1000, 3)
