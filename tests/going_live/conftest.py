"""Going live without leaving loopback: the tunnel stand-ins on PATH, a real server behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

STANDINS = Path(__file__).resolve().parents[1] / "fixtures" / "tunnels"


@pytest.fixture
def tunnels_on_path(monkeypatch: pytest.MonkeyPatch) -> Path:
    """cloudflared, ngrok and lt on PATH: the stand-ins, ahead of anything installed."""
    monkeypatch.setenv("PATH", f"{STANDINS}{os.pathsep}{os.environ['PATH']}")
    return STANDINS
