"""Debian's Chromium as the browser tests and the benchmarks drive it (through Playwright):
headless, and nothing off loopback."""

from __future__ import annotations

PATH = "/usr/bin/chromium"
HEADLESS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
#: For a page that answers calls: a fake microphone with no permission prompt (the Client SDK's
#: answer() calls getUserMedia), and ICE candidates on loopback, so media never leaves 127.0.0.1.
MEDIA = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
