"""Send a recorded call (answer request, then events) to a running vcall serve or any URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vcall._errors import UpstreamError
from vcall.seed import RecordedCall


@dataclass(frozen=True)
class Delivery:
    """One request sent and what came back."""

    path: str
    status: int
    body: Any


async def send_call(base_url: str, call: RecordedCall) -> list[Delivery]:
    """POST/GET each webhook of ``call`` to ``base_url`` in order; returns every response."""
    import aiohttp

    out: list[Delivery] = []
    try:
        async with aiohttp.ClientSession(base_url) as http:
            method = call.answer_method.upper()
            kwargs: dict[str, Any] = (
                {"params": call.answer_query} if method == "GET" else {"json": call.answer_query}
            )
            async with http.request(method, "/voice/answer", **kwargs) as resp:
                out.append(
                    Delivery("/voice/answer", resp.status, await resp.json(content_type=None))
                )
            for body in call.event_bodies():
                async with http.post(
                    "/voice/event", data=body, headers={"Content-Type": "application/json"}
                ) as resp:
                    out.append(
                        Delivery("/voice/event", resp.status, await resp.json(content_type=None))
                    )
    except aiohttp.ClientError as exc:
        raise UpstreamError(f"cannot reach {base_url}: {exc}") from exc
    return out
