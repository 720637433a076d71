"""Waiting in tests: poll until something holds, with a deadline; never a bare sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from recorded_call import EVER

from vcall.answer_requests import StoredAnswer
from vcall.store import EventStore


async def until(
    predicate: Callable[[], object], what: str, deadline: float = 10.0, every: float = 0.01
) -> None:
    """Poll ``predicate`` every ``every`` seconds until it holds; fail after ``deadline``."""
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"not within {deadline} s: {what}")
        await asyncio.sleep(every)  # polling, with a deadline


async def kept_answers(
    store: EventStore, conversation: str, n: int, deadline: float = 5.0
) -> list[StoredAnswer]:
    """The call's answer requests once ``n`` are kept (the store writes them without anyone
    waiting); fail after ``deadline``."""
    async with asyncio.timeout(deadline):
        while len(kept := await store.answers(conversation, **EVER)) < n:
            await asyncio.sleep(0.005)  # polling, with asyncio.timeout as the deadline
    return kept
