"""Typed keys for the objects ``vcall serve`` shares between handlers."""

from __future__ import annotations

from aiohttp import web

from vcall.ncco import NccoBuilder
from vcall.store import EventStore
from vcall.web.hub import EventHub
from vcall.web.log import WebhookLog

STORE = web.AppKey("store", EventStore)
NCCO = web.AppKey("ncco", NccoBuilder)
HUB = web.AppKey("hub", EventHub)
LOG = web.AppKey("log", WebhookLog)
INSTANCE = web.AppKey("instance", str)
