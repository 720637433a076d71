"""The floor for any aiohttp webhook server on this machine: answer and event routes that do
nothing but answer. vcall serve cannot be faster than this; bench/ reports vcall as a ratio to it.

Run: ``PORT=3001 python bench/anchors/aiohttp_floor.py`` (needs only aiohttp).
"""

import os

from aiohttp import web

NCCO = [
    {"action": "talk", "text": "Thank you for calling. Please wait while we connect you."},
    {"action": "connect", "endpoint": [{"type": "app", "user": "Alice"}]},
]


async def answer(request: web.Request) -> web.Response:
    return web.json_response(NCCO)


async def event(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=200)


app = web.Application()
app.router.add_get("/voice/answer", answer)
app.router.add_post("/voice/event", event)
web.run_app(
    app, host="127.0.0.1", port=int(os.environ.get("PORT", "3001")), print=None, access_log=None
)
