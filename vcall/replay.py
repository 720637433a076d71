"""Send webhooks to a vcall serve or any URL: events from the store, or any list of webhooks.

``vcall replay`` re-sends stored events with :func:`replay_stored`, like ``stripe events
resend``: the raw bodies exactly as they were stored, in store order, each whole call preceded
by its answer requests as they were received, and every request signed (as the Voice API signs
them) when a signature secret is configured. The page's inspector replays a call through the
same :func:`stored_webhooks` and :func:`deliver`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from vcall._errors import ConfigError, NotFound, RemoteError
from vcall.answer_requests import NOT_CHECKED, VERIFIED, around, query_fields
from vcall.delivery import Delivery, Sender, Webhook
from vcall.events import ANSWER_FIELDS
from vcall.modes import default_mode, webhook_secret
from vcall.signing import Signer, sign_with
from vcall.store import is_postgres, open_store

if TYPE_CHECKING:
    from vcall.answer_requests import StoredAnswer
    from vcall.config import Settings
    from vcall.events import StoredEvent
    from vcall.store import EventStore

#: Seconds one webhook may take before the replay gives up on the target.
TIMEOUT = 10.0
EVENT_PATH = "/voice/event"
ANSWER_PATH = "/voice/answer"
#: The signature checks' outcomes of answer requests that came from the platform (or may
#: have: with no secret, none is checked); a refused one is not re-sent.
SENT_BY_THE_PLATFORM = (VERIFIED, NOT_CHECKED)


def signer_for(settings: Settings) -> Signer | None:
    """Sign like the Voice API, with the secret vcall serve checks (in the sandbox, the
    sandbox account's), else None."""
    secret = webhook_secret(settings, sandbox=default_mode(settings) == "sandbox")
    if not secret:
        return None
    return sign_with(
        secret, api_key=settings.api_key or "", application_id=settings.application_id or ""
    )


async def deliver(
    base_url: str, hooks: Iterable[Webhook], *, signer: Signer | None = None
) -> AsyncIterator[Delivery]:
    """Send each webhook to ``base_url`` in order, yielding each response as it comes."""
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        sender = Sender(http, signer=signer, base_url=base_url)
        for hook in hooks:
            done = await sender.send(hook)
            if done.status is None:
                raise RemoteError(f"cannot reach {base_url}: {done.error}")
            yield done


def delivery_json(done: Delivery) -> dict[str, Any]:
    """One delivery as ``vcall replay --json`` and the page's replay report it; ``error`` is
    why it failed (the refusal's own reason when the target is a vcall serve)."""
    refused = done.body.get("error") if isinstance(done.body, dict) and not done.ok else None
    return {
        "method": done.method,
        "path": done.path,
        "label": done.label,
        "status": done.status,
        "ok": done.ok,
        "error": refused or done.error,
    }


def replay_report(
    target: str, signer: Signer | None, deliveries: list[dict[str, Any]]
) -> dict[str, Any]:
    """A replay's totals and its deliveries (:func:`delivery_json`), as ``vcall replay
    --json`` prints them and the page's replay answers."""
    return {
        "target": target,
        "signed": signer is not None,
        "sent": len(deliveries),
        "accepted": sum(1 for d in deliveries if d["ok"]),
        "deliveries": deliveries,
    }


def answer_requests(answers: Iterable[StoredAnswer], conversation: str) -> list[Webhook]:
    """A call's stored answer requests, as they were received: those the platform sent (a
    GET or POST whose signature was not refused), in order."""
    hooks = []
    for answer in answers:
        if answer.method not in ("GET", "POST") or answer.signature not in SENT_BY_THE_PLATFORM:
            continue
        label = f"{answer.path.rpartition('/')[2]} {conversation}"
        if answer.method == "GET":
            query = query_fields(answer.query)
            hooks.append(Webhook("GET", answer.path, query=query, label=label))
        else:
            hooks.append(Webhook("POST", answer.path, body=answer.body or b"", label=label))
    return hooks


def rebuilt_answer_request(events: Iterable[StoredEvent]) -> Webhook | None:
    """The answer request that began a call, rebuilt from its inbound leg's first event, for a
    call whose answer request is not stored (answered by a vcall before answer requests were
    kept, or by another server): the platform sends the inbound leg's ``from, to, uuid,
    conversation_uuid`` in it."""
    inbound = next((e for e in events if e.direction == "inbound"), None)
    if inbound is None:
        return None
    data = json.loads(inbound.raw)
    query = {k: str(data[k]) for k in ANSWER_FIELDS if data.get(k) is not None}
    return Webhook("GET", ANSWER_PATH, query=query, label=f"answer {inbound.conversation_uuid}")


async def stored_webhooks(
    store: EventStore, *, ids: Iterable[int] = (), conversations: Iterable[str] = ()
) -> list[Webhook]:
    """The webhooks that re-send the chosen stored events, in store order.

    ``conversations`` selects whole calls, each preceded by its answer requests; ``ids``
    selects single events. With neither, the newest call is chosen.
    """
    ids, conversations = list(ids), list(conversations)
    chosen: dict[int, StoredEvent] = {}
    if ids:
        found = await store.events_by_id(ids)
        missing = sorted(set(ids) - {e.id for e in found})
        if missing:
            raise NotFound(f"no stored event with id {', '.join(map(str, missing))}")
        chosen.update((e.id, e) for e in found)
    if not ids and not conversations:
        newest = await store.last_events(1)
        if not newest:
            raise NotFound("the event store is empty: nothing to replay")
        if newest[0].conversation_uuid:
            conversations = [newest[0].conversation_uuid]
        else:
            chosen[newest[0].id] = newest[0]
    calls: dict[str, list[Webhook]] = {}
    for conversation in conversations:
        events = await _whole_call(store, conversation)
        chosen.update((e.id, e) for e in events)
        since, until = around(events[0].received_at, events[-1].received_at)
        kept = await store.answers(conversation, since=since, until=until)
        answers = answer_requests(kept, conversation)
        rebuilt = rebuilt_answer_request(events) if not answers else None
        calls[conversation] = answers or ([rebuilt] if rebuilt else [])
    hooks: list[Webhook] = []
    for event in sorted(chosen.values(), key=lambda e: e.id):
        hooks.extend(calls.pop(event.conversation_uuid or "", ()))
        label = f"#{event.id} {event.status} {event.direction or ''}".rstrip()
        hooks.append(Webhook("POST", EVENT_PATH, body=event.raw, label=label))
    return hooks


async def _whole_call(store: EventStore, conversation: str) -> list[StoredEvent]:
    """Every stored event of one call, in store order."""
    out: list[StoredEvent] = []
    while page := await store.events(
        after=out[-1].id if out else 0, limit=1000, conversation=conversation
    ):
        out.extend(page)
    if not out:
        raise NotFound(f"no stored events for {conversation}")
    return out


async def replay_stored(
    location: Path | str,
    to: str,
    *,
    ids: Iterable[int] = (),
    conversations: Iterable[str] = (),
    signer: Signer | None = None,
) -> AsyncIterator[Delivery]:
    """Re-send events from the store at ``location`` (a SQLite file or a PostgreSQL URL) to
    ``to``, yielding each response."""
    if not is_postgres(location) and not Path(location).is_file():
        raise ConfigError(f"no event store at {location}: nothing to replay")
    store = open_store(location)
    await store.open()
    try:
        hooks = await stored_webhooks(store, ids=ids, conversations=conversations)
    finally:
        await store.close()
    async for delivery in deliver(to, hooks, signer=signer):
        yield delivery
