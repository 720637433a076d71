"""The page's Client SDK: found where vcall serve installs it, or one line on what to do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vcall import client_sdk
from vcall._errors import ConfigError
from vcall.paths import Paths


@pytest.fixture
def no_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An empty cache and a PATH with python but no npm."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": str(bin_dir)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_the_bundle_lives_in_the_users_cache_by_lockfile(no_npm):
    where = client_sdk.install_dir()
    assert where.parent == Path(no_npm["XDG_CACHE_HOME"]) / "vcall" / "client-sdk"
    assert client_sdk.bundle() is None
    with pytest.raises(ConfigError) as missing:
        client_sdk.install()
    assert "npm is not installed" in str(missing.value)
    assert not where.exists()  # nothing half-made


def test_serve_without_npm_says_so_in_one_line_and_serves(isolated, no_npm):
    paths = Paths.default()
    command = [sys.executable, "-m", "vcall", "serve", "--port", "0", "--quiet"]
    env = {**os.environ, "VCALL_HOME": str(paths.home), **no_npm}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            deadline = time.monotonic() + 30
            while not paths.runtime.exists():  # written once the server listens
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "vcall serve did not start in time"
                time.sleep(0.05)  # polling under a deadline
            proc.send_signal(signal.SIGINT)
            _out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    warnings = [line for line in err.splitlines() if "Client SDK" in line]
    assert warnings == [
        "Warning: the page needs the Vonage Client SDK and npm is not installed: install "
        "Node.js and npm (e.g. `apt-get install npm`), then start vcall serve again"
    ]
