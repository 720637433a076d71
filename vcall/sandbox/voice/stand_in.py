"""The headless app user of ``vcall call --outcome`` and ``vcall demo``.

It is rung the one way the platform rings anyone: it signs in over the socket with the user's
JWT and acts through the Conversation API, with real media when it answers (:mod:`.sdk_client`).
It plays one outcome: ``answered`` picks up after ``answer_after`` seconds and hangs up
``hold`` seconds later (unless the caller hangs up first); ``rejected``, ``busy`` and
``failed`` decline after ``answer_after`` (the member leaves with ``REMOTE_REJECT``,
``REMOTE_BUSY`` or ``REMOTE_FAILURE``); ``timeout`` and ``cancelled`` never pick up (the
platform's timers decide).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from vcall._errors import VcallError
from vcall.sandbox.voice.sdk_client import SdkClient

logger = logging.getLogger("vcall.sandbox.stand_in")

#: How each declining outcome leaves the member.
DECLINES = {"rejected": "REMOTE_REJECT", "busy": "REMOTE_BUSY", "failed": "REMOTE_FAILURE"}


class StandIn:
    """One headless device that plays ``outcome`` on the first call that rings it."""

    def __init__(
        self, origin: str, page_key: str, outcome: str, answer_after: float, hold: float
    ) -> None:
        self.client = SdkClient(origin, page_key, headless=True)
        self.outcome = outcome
        self.answer_after = answer_after
        self.hold = hold
        self._task: asyncio.Task[None] | None = None

    async def sign_in(self, token: str) -> str:
        """Open the session and start listening for the invite; returns the session id."""
        session = await self.client.create_session(token)
        self._task = asyncio.create_task(self._play())
        return session

    async def _play(self) -> None:
        invite = await self.client.next_event("member:invited", timeout=None)
        if self.outcome in ("timeout", "cancelled"):
            return
        await asyncio.sleep(self.answer_after)
        try:
            if self.outcome in DECLINES:
                await self.client.reject(invite, DECLINES[self.outcome])
                return
            if await self.client.answer(invite):
                with contextlib.suppress(TimeoutError):
                    await self.client.next_event("rtc:hangup", timeout=self.hold)
                    return  # the caller hung up first
            await self.client.hangup(invite)
        except VcallError as exc:
            # The platform moved on meanwhile (the caller gave up): nothing left to play.
            logger.debug("stand-in: %s", exc)
        except OSError as exc:
            logger.warning("the stand-in lost vcall serve: %s", exc)

    async def close(self) -> None:
        """Stop playing and sign out."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()
