"""A failure is vcall's one line: no library warning ahead of it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def closed_port() -> int:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_live_setup_without_a_network_is_one_line(isolated):
    # The proxy is the only way out, and nothing answers there: no packet leaves loopback.
    env = {
        **os.environ,
        "HTTPS_PROXY": f"http://127.0.0.1:{closed_port()}",
        "VONAGE_API_KEY": "abcd1234",
        "VONAGE_API_SECRET": "not-a-real-secret",
    }
    command = [sys.executable, "-m", "vcall", "setup", "--live", "--public-url", "https://x.io"]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        "Error: cannot reach api.nexmo.com / rest.nexmo.com: check the network connection "
        "(and HTTPS_PROXY)"
    ]
