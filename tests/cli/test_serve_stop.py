"""``vcall serve`` stopped by SIGTERM (kill, docker stop, systemd) ends as cleanly as Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from vcall.paths import Paths
from vcall.remote import discovery


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_serve_with_exit_0_and_withdraws_it(isolated, sig):
    paths = Paths.default()
    command = [sys.executable, "-m", "vcall", "serve", "--port", "0", "--quiet"]
    env = {**os.environ, "VCALL_HOME": str(paths.home)}
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        try:
            deadline = time.monotonic() + 30
            while not paths.runtime.exists():  # written once the server listens
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "vcall serve did not start in time"
                time.sleep(0.05)  # polling under a deadline
            assert discovery.find(paths).pid == proc.pid
            proc.send_signal(sig)
            _out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()  # else leaving the with block would wait for it for ever
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Error" not in err, err
    assert not paths.runtime.exists()  # tail-events will not look for a server that is gone
