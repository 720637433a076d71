"""Several real ``vcall serve`` processes on one store (their load: webhook_load.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from serve_process import ServeProcess
from webhook_load import PLAIN


@pytest.fixture
def instance(serve_process, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``instance(name, store, *flags)``: a vcall serve of its own home on ``store``."""

    def start(name: str, store: Path | str, *flags: str) -> ServeProcess:
        return serve_process(*PLAIN, *flags, store=store, home=tmp_path / name)  # type: ignore[no-any-return]

    return start


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A store several instances share: one SQLite file, or one PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "events.db"
    return str(request.getfixturevalue("pg_url"))
