"""The simulated voice platform: what Vonage does when someone calls the number.

A call to a sandbox number goes through the steps the real platform takes, so code that
handles it here handles it live:

1. inbound ``ringing`` and ``started`` events;
2. the linked application's answer URL is fetched (method and timeouts from the
   application; one retry, then the fallback URL — :mod:`.hooks`);
3. inbound ``answered``, then the NCCO runs: ``talk`` takes time in proportion to its text,
   ``connect`` to an app user rings that user's Client SDK sessions (the pages, or the
   headless stand-in of a call with an outcome, :mod:`.stand_in`; :mod:`.ringing`) as a new
   outbound leg (``started``, then ``answered`` or ``rejected`` /
   ``timeout`` / ``cancelled`` / ``busy`` / ``failed``); anything else is reported as an
   error event and skipped;
4. ``completed`` for the app leg (if it was answered), then for the inbound leg.

When the server stops mid-call, the caller hangs up (:meth:`Call.hang_up`): a ringing app leg
is ``cancelled``, an answered one ``completed``, then the inbound leg ``completed``, and those
last events are delivered before the server stops listening.

Event bodies are built in :mod:`.legs`; they reach the event URL in order, signed
when the application has ``signed_callbacks``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import aiohttp

from vcall import state as state_file
from vcall import tokens
from vcall._errors import ConfigError, Conflict, VcallError, WebhookFailed
from vcall.config import load_settings
from vcall.sandbox.voice.hooks import CallWebhooks, HookUrl, Route, resolve_route
from vcall.sandbox.voice.legs import Leg, error_event
from vcall.sandbox.voice.request import CONNECT_LIMIT, CallRequest, Outcome
from vcall.sandbox.voice.ringing import Device, Ring
from vcall.sandbox.voice.sdk_messages import AppLeg
from vcall.sandbox.voice.stand_in import StandIn
from vcall.statuses import TERMINAL

if TYPE_CHECKING:
    from vcall.paths import Paths
    from vcall.sandbox.account import SandboxState
    from vcall.sandbox.voice.client_sessions import ClientSessions

logger = logging.getLogger("vcall.sandbox.voice.platform")

#: Speech rate of the simulated text-to-speech (about 15 characters a second).
TALK_SECONDS_PER_CHAR = 0.065
#: Vonage's default ``connect`` timeout: ring for 60 s.
RING_TIMEOUT = 60.0
#: A stand-in that answers keeps the line this long unless told otherwise.
STAND_IN_HOLD = 5.0
#: Ended calls kept for ``GET /sandbox/calls/{id}``.
KEEP_CALLS = 1000
#: Seconds calls in progress get to end and deliver their last events when the server stops.
HANG_UP_GRACE = 5.0
#: NCCO actions Vonage knows but the sandbox does not simulate (reported, then skipped).
NOT_SIMULATED = frozenset({"record", "conversation", "stream", "input", "notify"})


class Call:
    """One simulated call: its legs, its events and how it ended."""

    def __init__(
        self,
        request: CallRequest,
        to: str,
        route: Route,
        hooks: CallWebhooks,
        platform: Platform,
        origin: str | None,
    ):
        self.request = request
        self.route = route
        self.hooks = hooks
        self.platform = platform
        self.origin = origin
        self.id = f"CON-{uuid.uuid4()}"
        self.inbound = Leg(uuid.uuid4().hex, self.id, "inbound", request.from_, to)
        self.app_legs: list[Leg] = []
        self.errors: list[str] = []
        # Pages signed in as the application's users now; once ringing, the pages rung.
        self.pages = platform.sessions.signed_in(route.application_id, route.users)
        self.task: asyncio.Task[None] | None = None
        self._player: asyncio.Task[None] | None = None
        self._caller_hung_up = False
        self._outbox: asyncio.Queue[tuple[dict[str, Any], HookUrl | None] | None] = asyncio.Queue()
        self._done = asyncio.Event()

    @property
    def ended(self) -> bool:
        return self._done.is_set()

    @property
    def outcome(self) -> str:
        """``answered`` if the user picked up, else how the app leg ended; with no app leg,
        ``completed`` (the NCCO connected nobody) or ``failed`` (there was no NCCO)."""
        if not self.app_legs:
            if not self.ended:
                return "in-progress"
            return "completed" if self.inbound.answered_at is not None else Outcome.failed
        leg = self.app_legs[-1]
        return Outcome.answered if leg.answered_at is not None else leg.status

    async def wait(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: as long as it takes) for the call to end;
        True if it has."""
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def summary(self) -> dict[str, Any]:
        """What ``vcall call`` prints: ids, outcome, each leg's status and duration."""
        legs = [self.inbound, *self.app_legs]
        return {
            "conversation_uuid": self.id,
            "ended": self.ended,
            "outcome": self.outcome,
            "from": self.inbound.from_,
            "to": self.inbound.to,
            "pages": self.pages,
            "legs": [
                {
                    "uuid": leg.uuid,
                    "direction": leg.direction,
                    "from": leg.from_,
                    "to": leg.to,
                    "status": leg.status,
                    "duration": leg.duration,
                }
                for leg in legs
            ],
            "errors": list(self.errors),
            # Each request for the NCCO (answer URL, retries, fallback), and how it went.
            "answer_requests": [
                {
                    "kind": d.label,
                    "method": d.method,
                    "url": d.path,
                    "status": d.status,
                    "error": d.error,
                }
                for d in self.hooks.deliveries
                if d.label != "event"
            ],
        }

    # -- the call -------------------------------------------------------------------------

    async def run(self) -> None:
        """Play the call to its end; events are delivered in order by a companion task.

        Cancelled, the call is cut off: events not yet delivered are dropped. To end it the
        way the platform does, with its last events, use :meth:`hang_up`.
        """
        sender = asyncio.create_task(self._deliver_events())
        self._player = player = asyncio.create_task(self._play())
        if self._caller_hung_up:  # before the call had started
            player.cancel()
        try:
            # asyncio.wait: the player cancelled by hang_up() is not an error here.
            await asyncio.wait([player])
            if not player.cancelled() and (exc := player.exception()) is not None:
                logger.error("simulated call %s failed", self.id, exc_info=exc)
                self.errors.append("internal error in the simulated platform (see the server log)")
            if self.inbound.status != "completed":
                self._emit(self.inbound.completed())
            self._outbox.put_nowait(None)
            await sender
        finally:
            # Cut off (or done): nothing of the call may outlive it.
            for task in (player, sender):
                task.cancel()
            await asyncio.wait([player, sender])
            self._done.set()

    def hang_up(self) -> None:
        """The caller hangs up now: open legs end as on the platform (an app leg ringing is
        ``cancelled``, one answered ``completed``) and their events are still delivered;
        await the call's task for the end."""
        self._caller_hung_up = True
        if self._player is not None:
            self._player.cancel()

    def _emit(self, body: dict[str, Any], hook: HookUrl | None = None) -> None:
        self._outbox.put_nowait((body, hook))

    def _error(self, reason: str) -> None:
        self.errors.append(reason)
        self._emit(error_event(self.id, reason))

    async def _deliver_events(self) -> None:
        while (item := await self._outbox.get()) is not None:
            failure = await self.hooks.event(*item)
            if failure:
                self.errors.append(f"event not delivered: {failure}")

    async def _play(self) -> None:
        leg = self.inbound
        self._emit(leg.progress("ringing"))
        self._emit(leg.progress("started"))
        query = {"from": leg.from_, "to": leg.to, "uuid": leg.uuid, "conversation_uuid": self.id}
        try:
            ncco = await self.hooks.ncco(query)
        except WebhookFailed as exc:
            self._error(f"no NCCO for the call: {exc}")
            return
        self._emit(leg.answered())
        for index, action in enumerate(ncco):
            name = action.get("action") if isinstance(action, dict) else None
            if name == "talk":
                await self._talk(action)
            elif name == "connect":
                if not await self._connect(action):
                    return  # the caller hung up
            elif name in NOT_SIMULATED:
                self._error(f"NCCO action {name!r} is not simulated by the vcall sandbox; skipped")
            else:
                self._error(f"unknown NCCO action {name!r} at index {index}; skipped")

    async def _talk(self, action: dict[str, Any]) -> None:
        seconds = self.request.talk_for
        if seconds is None:
            seconds = len(str(action.get("text", ""))) * TALK_SECONDS_PER_CHAR
        loop = action.get("loop", 1)
        await asyncio.sleep(seconds * (loop if isinstance(loop, int) and loop > 1 else 1))

    async def _connect(self, action: dict[str, Any]) -> bool:
        """Ring an app user as a new leg; False when the caller hung up during it."""
        endpoints = action.get("endpoint")
        endpoint = endpoints[0] if isinstance(endpoints, list) and endpoints else None
        if not isinstance(endpoint, dict) or endpoint.get("type") != "app":
            kind = endpoint.get("type") if isinstance(endpoint, dict) else None
            self._error(f"connect to a {kind or 'missing'} endpoint is not simulated; skipped")
            return True
        user = str(endpoint.get("user", ""))
        caller = action.get("from") or self.inbound.from_
        if action.get("randomFromNumber"):
            caller = self.inbound.to
        leg = Leg(str(uuid.uuid4()), self.id, "outbound", str(caller), user)
        self.app_legs.append(leg)
        hook = _connect_event_hook(action)
        self._emit(leg.progress("started"), hook)

        if user not in self.route.users:
            self._error(f"connect: the application has no user {user!r}")
            self._emit(leg.progress("failed"), hook)
            return True
        stand_in: StandIn | None = None
        ring: Ring | None = None
        try:
            try:
                app_leg, devices, stand_in = await self._devices(leg, user)
            except VcallError as exc:
                self._error(f"connect: {exc}")
                self._emit(leg.progress("failed"), hook)
                return True
            ring = Ring(app_leg, devices, private=stand_in is not None)
            self.platform.sessions.rings.track(ring)
            return await self._connected(ring, leg, hook, action)
        except asyncio.CancelledError:
            if self._caller_hung_up:
                await self._caller_left(ring, leg, hook)
            raise
        finally:
            if ring is not None:
                self.platform.sessions.rings.untrack(ring)
                if stand_in is None:
                    self.pages = ring.rung
                await ring.close()
            if stand_in is not None:
                await stand_in.close()

    async def _devices(self, leg: Leg, user: str) -> tuple[AppLeg, list[Device], StandIn | None]:
        """The app leg as the Client SDK sees it, and the sessions to ring: the user's pages,
        or, for a call with an outcome, a stand-in signed in for it alone."""
        user_id = await asyncio.to_thread(self.platform.user_id, self.route, user)
        app_id = self.route.application_id
        app_leg = AppLeg(self.id, f"MEM-{uuid.uuid4()}", leg.uuid, user_id, user, leg.from_, app_id)
        if self.request.outcome is None:
            return app_leg, list(self.platform.sessions.of_user(user_id)), None
        stand_in = self._stand_in()
        try:
            token = await asyncio.to_thread(self.platform.stand_in_token, self.route, user)
            session = await stand_in.sign_in(token)
        except BaseException:
            await stand_in.close()
            raise
        return app_leg, [self.platform.sessions.session(session)], stand_in

    def _stand_in(self) -> StandIn:
        """The headless user for a call with an outcome: it signs in where pages do."""
        request = self.request
        if self.origin is None:
            raise Conflict("a call with an outcome needs the address its stand-in signs in to")
        hold = STAND_IN_HOLD if request.hold is None else request.hold
        assert request.outcome is not None
        return StandIn(
            self.origin, self.platform.page_key, request.outcome, request.answer_after, hold
        )

    async def _connected(
        self, ring: Ring, leg: Leg, hook: HookUrl | None, action: dict[str, Any]
    ) -> bool:
        """Ring the user and, if they answer, hold the line; False when the caller hung up."""
        request = self.request
        await ring.offer()
        decision = await self._ring(ring, action)
        if decision != "answered":
            self._emit(leg.progress(decision), hook)
            return decision != "cancelled"
        self._emit(leg.answered(), hook)
        limit = _seconds(action.get("limit"), CONNECT_LIMIT)
        caller_hangs_up = request.hold if request.outcome is None else None
        wait = limit if caller_hangs_up is None else min(limit, caller_hangs_up)
        by_user = await ring.user_hung_up(wait)
        if not by_user:
            await ring.end("REMOTE_HANGUP")
        self._emit(leg.completed(), hook)
        return by_user or caller_hangs_up is None or caller_hangs_up > limit

    async def _caller_left(self, ring: Ring | None, leg: Leg, hook: HookUrl | None) -> None:
        """The caller hung up during the app leg: end it and report it as Vonage does."""
        if leg.status in TERMINAL or leg.status == "completed":
            return  # already ended and reported
        if ring is None:  # before it rang anyone
            self._emit(leg.progress("cancelled"), hook)
            return
        if ring.state == "ringing":
            await ring.withdraw("RemoteCancel")
        if leg.status == "started":  # what the user decided is not reported yet
            if ring.state != "answered":
                self._emit(leg.progress(ring.state), hook)
                return
            self._emit(leg.answered(), hook)
        await ring.end("REMOTE_HANGUP")
        self._emit(leg.completed(), hook)

    async def _ring(self, ring: Ring, action: dict[str, Any]) -> str:
        """Wait for the user; withdraw the invite on timeout or when the caller gives up."""
        timeout = self.request.ring_timeout
        if timeout is None:
            timeout = _seconds(action.get("timeout"), RING_TIMEOUT)
        gives_up = self.request.cancel_after
        caller_first = gives_up is not None and gives_up < timeout
        wait = gives_up if caller_first and gives_up is not None else timeout
        decision = await ring.decision(wait)
        if decision is not None:
            return decision
        await ring.withdraw("RemoteCancel" if caller_first else "RemoteTimeout")
        return ring.state  # withdrawn, or what a device decided in the same instant


def _seconds(value: Any, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def _connect_event_hook(action: dict[str, Any]) -> HookUrl | None:
    """A connect action may send its leg's events elsewhere (``eventUrl``, ``eventMethod``)."""
    urls = action.get("eventUrl")
    if not isinstance(urls, list) or not urls or not isinstance(urls[0], str):
        return None
    return HookUrl(urls[0], str(action.get("eventMethod") or "POST").upper())


class Platform:
    """Places simulated calls and keeps the recent ones for status queries."""

    def __init__(
        self, state: SandboxState, sessions: ClientSessions, paths: Paths, page_key: str
    ) -> None:
        self.state = state
        self.sessions = sessions
        self.paths = paths
        #: What the stand-in presents to reach the socket, as pages do.
        self.page_key = page_key
        self._http: aiohttp.ClientSession | None = None
        self._calls: OrderedDict[str, Call] = OrderedDict()

    async def start(self) -> None:
        """Open the HTTP client the webhooks go out on."""
        self._http = aiohttp.ClientSession()

    async def hang_up_all(self, grace: float = 0) -> None:
        """End every call in progress; their waiters return at once.

        With ``grace``, each caller hangs up (:meth:`Call.hang_up`) so the calls' last events
        are delivered; calls not ended within ``grace`` seconds are then cut off.
        """
        live = {c.task: c for c in self._calls.values() if c.task and not c.task.done()}
        if grace > 0 and live:
            for call in live.values():
                call.hang_up()
            await asyncio.wait(live, timeout=grace)
        for task in live:
            task.cancel()  # a no-op for the calls that have ended
        await asyncio.gather(*live, return_exceptions=True)

    async def close(self) -> None:
        """Hang up every call in progress and close the HTTP client."""
        await self.hang_up_all()
        if self._http is not None:
            await self._http.close()

    def default_number(self) -> str:
        """The number ``vcall setup`` linked, else any linked sandbox number."""
        saved = state_file.load(self.paths).get("number")
        if saved:
            return str(saved)
        for number in self.state.numbers():
            if number.get("app_id"):
                return str(number["msisdn"])
        raise ConfigError("no sandbox number is linked to an application: run `vcall setup`")

    def user_id(self, route: Route, name: str) -> str:
        """The id of the application's user ``name`` (the SDK's sessions are by id)."""
        user = self.state.user_by_name(name, route.application_id)
        if user is None:
            raise ConfigError(f"the application has no user {name!r}: run `vcall setup`")
        return str(user["id"])

    def stand_in_token(self, route: Route, user: str) -> str:
        """A client JWT for the stand-in, signed with the key `vcall setup` keeps (the stand-in
        is the customer's device, not Vonage's: it signs in as a page would)."""
        settings = load_settings(self.paths)
        if settings.application_id != route.application_id or not settings.private_key:
            raise ConfigError(
                "the stand-in signs in with the application's private key, which `vcall setup` "
                "keeps: run `vcall setup`"
            )
        key = tokens.load_key(settings.private_key)
        return tokens.mint(route.application_id, key, user)

    async def place(self, request: CallRequest, origin: str | None = None) -> Call:
        """Start a call; it runs in the background (see :meth:`Call.wait`).

        ``origin`` is this server's address as the stand-in reaches it (needed for a call with
        an outcome).
        """
        if self._http is None:
            raise Conflict("the sandbox platform is not running")
        to = request.to or await asyncio.to_thread(self.default_number)
        route = await asyncio.to_thread(resolve_route, self.state, to)
        call = Call(request, to, route, CallWebhooks(self._http, route), self, origin)
        self._calls[call.id] = call
        while len(self._calls) > KEEP_CALLS:
            oldest = next(iter(self._calls.values()))
            if not oldest.ended:
                break
            self._calls.popitem(last=False)
        call.task = asyncio.create_task(call.run())
        return call

    def call(self, conversation_uuid: str) -> Call | None:
        """A recent call by its conversation id."""
        return self._calls.get(conversation_uuid)
