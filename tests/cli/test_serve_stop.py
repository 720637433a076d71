"""``vcall serve`` stopped by SIGTERM (kill, docker stop, systemd) ends as cleanly as Ctrl-C."""

from __future__ import annotations

import signal

import pytest

from vcall.paths import Paths
from vcall.remote import discovery


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_serve_with_exit_0_and_withdraws_it(serve_stopped, sig):
    paths = Paths.default()

    def announced(proc) -> None:  # type: ignore[no-untyped-def]
        assert discovery.find(paths).pid == proc.pid

    code, err = serve_stopped(sig, while_running=announced)
    assert code == 0, err
    assert "Traceback" not in err and "Error" not in err, err
    assert not paths.runtime.exists()  # tail-events will not look for a server that is gone
