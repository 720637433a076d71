"""Stopping ``vcall serve`` mid-call: the caller hangs up, and the calls' last events are stored."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from sandbox_calls import call_events

from vcall.sandbox.voice.routes import PLATFORM
from vcall.serving import running
from vcall.web.app import create_app

#: The user answers at once and would hold the line for a minute; the caller hangs up first.
ON_THE_LINE = {"outcome": "answered", "talk_for": 0.01, "answer_after": 0.01, "hold": 60}
#: Nobody answers for a minute.
RINGING = {"outcome": "timeout", "talk_for": 0.01, "ring_timeout": 60}


async def _stop_during(sandbox, options, call: dict[str, Any], leg_status: str) -> dict[str, Any]:
    """Place ``call`` on a real server, stop the server once the app leg is at ``leg_status``,
    and return the call's summary as the server last knew it."""
    app = create_app(options)
    headers = {"Authorization": f"Bearer {options.page_key}"}
    async with (
        running(app, "127.0.0.1", 0) as base,
        aiohttp.ClientSession(base, headers=headers) as http,
    ):
        sandbox.provision(base)
        async with http.post("/sandbox/calls", json=call) as resp:
            assert resp.status == 201, await resp.text()
            conversation = (await resp.json())["conversation_uuid"]
        deadline = time.monotonic() + 10
        while True:
            async with http.get(f"/sandbox/calls/{conversation}") as resp:
                summary = await resp.json()
            legs = {leg["direction"]: leg["status"] for leg in summary["legs"]}
            if legs.get("outbound") == leg_status:
                break
            assert time.monotonic() < deadline, summary
            await asyncio.sleep(0.01)  # polling under a deadline
        assert not summary["ended"]
    # The server has stopped; the call object it kept says how the call ended.
    ended = app[PLATFORM].call(conversation)
    assert ended is not None
    return ended.summary()


@pytest.mark.parametrize(
    ("call", "leg_status", "leg_end"),
    [(ON_THE_LINE, "answered", "completed"), (RINGING, "started", "cancelled")],
    ids=["answered", "ringing"],
)
async def test_stopping_the_server_ends_calls_and_stores_their_last_events(
    sandbox, sandbox_options, call, leg_status, leg_end
):
    summary = await _stop_during(sandbox, sandbox_options, call, leg_status)

    assert summary["ended"] and summary["errors"] == []
    legs = {leg["direction"]: leg["status"] for leg in summary["legs"]}
    assert legs == {"inbound": "completed", "outbound": leg_end}
    events = await call_events(sandbox_options, summary["conversation_uuid"])
    # Every event of the call reached the event webhook before the listener closed.
    assert [(e["status"], e["direction"]) for e in events][-2:] == [
        (leg_end, "outbound"),
        ("completed", "inbound"),
    ]
    assert len(events) == (7 if leg_end == "completed" else 6)
