"""Pointing the application's webhooks at a running ``vcall serve``, and putting them back.

The change goes through the gateway call ``vcall setup`` makes (``update_application`` with
:meth:`WebhookUrls.for_public_url`), and is journaled first (:mod:`vcall.journal`): the webhooks
the application had are on disk before anything changes. :func:`restore` puts them back only
if the application still has what vcall gave it, so a change made meanwhile by someone else
(the dashboard, another tool) is left alone. :func:`recover` does it for a ``vcall serve`` that
died without restoring, and stops the tunnel it left running.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vcall import journal
from vcall._errors import ConfigError, NotFound, VcallError
from vcall.gateway import Gateway, WebhookUrls
from vcall.journal import Entry, Lease
from vcall.tunnel import stop_orphan

if TYPE_CHECKING:
    from vcall.modes import Mode
    from vcall.paths import Paths

#: Opens a gateway for a mode for the block (:func:`vcall.provision.connect`, its settings bound).
OpenGateway = Callable[["Mode"], AbstractContextManager[Gateway]]


def base_url(hooks: WebhookUrls) -> str:
    """The public URL ``hooks`` were made from (their answer URL without ``/voice/answer``)."""
    return hooks.answer_url.removesuffix("/voice/answer")


@dataclass(frozen=True)
class Pointed:
    """A change made: the application now sends its webhooks to ``now`` instead of ``before``."""

    application_id: str
    before: WebhookUrls
    now: WebhookUrls


def point(
    gateway: Gateway,
    paths: Paths,
    application_id: str,
    public_url: str,
    *,
    pid: int,
    tunnel: dict[str, Any] | None = None,
) -> Pointed | None:
    """Point the application's webhooks at ``public_url``, journaled first; None when they
    already point there. The caller holds the journal's :class:`Lease`."""
    app = gateway.get_application(application_id)
    if app is None:
        raise NotFound(f"application {application_id} does not exist; run `vcall setup`")
    before = WebhookUrls.of(app)
    now = WebhookUrls.for_public_url(public_url)
    if before == now:
        return None
    if before is None:
        raise ConfigError(
            f"application {application_id} has no voice webhooks to point; run `vcall setup`"
        )
    journal.save(paths, Entry(gateway.mode, application_id, before, now, pid, tunnel))
    gateway.update_application(application_id, app["name"], now)
    return Pointed(application_id, before, now)


def restore(gateway: Gateway, paths: Paths, entry: Entry) -> str:
    """Undo ``entry`` and forget it; what was done, in one line."""
    app = gateway.get_application(entry.application_id)
    if app is None:
        done = f"application {entry.application_id} is gone: no webhooks to put back"
    else:
        current = WebhookUrls.of(app)
        if current == entry.pointed_at:
            gateway.update_application(entry.application_id, app["name"], entry.previous)
            done = f"webhooks put back to {base_url(entry.previous)}"
        elif current == entry.previous:
            done = f"webhooks already point at {base_url(entry.previous)}"
        else:
            shown = base_url(current) if current else "none"
            done = f"webhooks were changed meanwhile (to {shown}): left as they are"
    journal.clear(paths)
    return done


@dataclass(frozen=True)
class Recovery:
    """What was found of a ``vcall serve`` that stopped without restoring, and what was done."""

    entry: Entry
    restored: bool
    message: str


def recover(paths: Paths, open_gateway: OpenGateway) -> Recovery | None:
    """Restore a journal left by a ``vcall serve`` that died; None when there is none, or its
    ``vcall serve`` is still running."""
    if journal.load(paths) is None:
        return None
    lease = Lease.take(paths)
    if lease is None:
        return None  # its vcall serve is alive and will restore it itself
    with lease:
        entry = journal.load(paths)  # read again under the lock: it may be done by now
        if entry is None:
            return None
        stopped = _stop_its_tunnel(entry)
        who = f"vcall serve (pid {entry.pid}) stopped without putting back the webhooks"
        mode: Mode = "live" if entry.mode == "live" else "sandbox"
        try:
            with open_gateway(mode) as gateway:
                done = restore(gateway, paths, entry)
        except VcallError as exc:
            return Recovery(
                entry,
                False,
                f"{who} of application {entry.application_id} ({entry.mode}), and they could "
                f"not be put back now: {exc}; run `vcall status` again once that is fixed"
                f"{stopped}",
            )
        return Recovery(entry, True, f"{who}: {done}{stopped}")


def _stop_its_tunnel(entry: Entry) -> str:
    """Stop the tunnel a dead ``vcall serve`` left running; what became of it, for the message."""
    if not entry.tunnel:
        return ""
    pid = int(entry.tunnel["pid"])
    stopped = stop_orphan(pid, [str(word) for word in entry.tunnel["argv"]])
    if stopped is None:
        return f"; its tunnel (pid {pid}) may still be running: stop it"
    return f"; stopped its tunnel (pid {pid})" if stopped else ""
