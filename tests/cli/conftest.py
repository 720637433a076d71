"""``vcall serve`` as a subprocess, stopped by a signal once it listens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from vcall.paths import Paths


def serve_then_stop(
    sig: int = signal.SIGINT,
    env: dict[str, str] | None = None,
    while_running: Callable[[subprocess.Popen[str]], None] | None = None,
) -> tuple[int, str]:
    """Start ``vcall serve --port 0 --quiet``, wait until it listens, run ``while_running``,
    send ``sig``; its exit code and stderr."""
    paths = Paths.default()
    command = [sys.executable, "-m", "vcall", "serve", "--port", "0", "--quiet"]
    full_env = {**os.environ, "VCALL_HOME": str(paths.home), **(env or {})}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env
    ) as proc:
        try:
            deadline = time.monotonic() + 30
            while not paths.runtime.exists():  # written once the server listens
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "vcall serve did not start in time"
                time.sleep(0.05)  # polling under a deadline
            if while_running is not None:
                while_running(proc)
            proc.send_signal(sig)
            _out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()  # else leaving the with block would wait for it for ever
    return proc.returncode, err


@pytest.fixture
def serve_stopped(isolated):  # type: ignore[no-untyped-def]
    """:func:`serve_then_stop`, in the test's own folder."""
    return serve_then_stop
