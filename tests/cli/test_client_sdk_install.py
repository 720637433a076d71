"""The page's Client SDK: found where vcall serve installs it, or one line on what to do."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vcall import client_sdk
from vcall._errors import ConfigError


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


def test_serve_without_npm_says_so_in_one_line_and_serves(serve_stopped, no_npm):
    code, err = serve_stopped(env=no_npm)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "Client SDK" in line]
    assert warnings == [
        "Warning: the page needs the Vonage Client SDK and npm is not installed: install "
        "Node.js and npm (e.g. `apt-get install npm`), then start vcall serve again"
    ]
