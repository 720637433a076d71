"""Going live without leaving loopback: the tunnel stand-ins on PATH, a real server behind."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from vcall.paths import Paths
from vcall.remote import discovery
from vcall.web.app import ServeOptions

STANDINS = Path(__file__).resolve().parents[1] / "fixtures" / "tunnels"


@pytest.fixture
def tunnels_on_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """cloudflared, ngrok and lt on PATH: the stand-ins, ahead of anything installed."""
    monkeypatch.setenv("PATH", f"{STANDINS}{os.pathsep}{os.environ['PATH']}")
    return STANDINS


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (ProcessLookupError, FileNotFoundError):
        return False
    return state != "Z"


@pytest.fixture
def alive() -> Callable[[int], bool]:
    """``alive(pid)``: whether the process runs."""
    return _alive


@pytest.fixture
def sandbox_options(isolated: Path, sandbox_serve) -> ServeOptions:  # type: ignore[no-untyped-def]
    """As ``vcall serve`` runs in the sandbox, with its page key."""
    paths = Paths.default()
    return sandbox_serve(paths, page_key=discovery.page_key(paths))
