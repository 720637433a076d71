"""Shared fixtures: an isolated working folder, the seed call, and a real vcall server."""

from __future__ import annotations

import itertools
import json
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_cluster import PgCluster, running_cluster
from recorded_call import RecordedCall
from serve_process import ServeProcess

ROOT = Path(__file__).resolve().parents[1]
SEED_PATH = ROOT / "tests" / "fixtures" / "seed_call.json"


def pytest_configure(config: pytest.Config) -> None:
    # A suite started in the background by a non-interactive shell (`nohup`, `cmd &`) inherits
    # SIGINT ignored, and so would every vcall it starts: the tests that stop one with Ctrl-C
    # would wait for ever. A process with a handler starts its children with the default.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--live", action="store_true", help="also run tests that reach the real Vonage"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--live"):
        return
    skip = pytest.mark.skip(reason="talks to the real Vonage; run with --live")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in its own folder with no VONAGE_* settings, so none can reach live
    (and no PG* settings, so none reaches a database but its own)."""
    for name in list(os.environ):
        if name.startswith(("VONAGE_", "VCALL_", "PG")) or name == "REQUESTS_CA_BUNDLE":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VCALL_HOME", str(tmp_path / ".vcall"))
    # Empty is the default profile; set here, so a --profile run in-process is undone after.
    monkeypatch.setenv("VCALL_PROFILE", "")
    return tmp_path


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgCluster]:
    """A real PostgreSQL server on loopback for the whole run, started on first use."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PgCluster]:
    """A PostgreSQL server for one test module alone: one it may restart without disturbing
    the other tests."""
    with running_cluster() as cluster:
        yield cluster


_databases = itertools.count(1)


@pytest.fixture
def pg_url(postgres: PgCluster) -> str:
    """The URL (password included) of a new, empty database on that server."""
    return postgres.create_database(f"test_{next(_databases)}")


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[Any]:
    """``serve_process(*args, store=..., env=..., home=...)`` starts ``vcall serve`` (each
    instance of several needs a ``home`` of its own); all are stopped after the test."""
    started: list[ServeProcess] = []

    def start(
        *args: str,
        store: Path | str | None = None,
        env: dict[str, str] | None = None,
        home: Path | None = None,
    ) -> ServeProcess:
        proc = ServeProcess(
            home or tmp_path / ".vcall", store or tmp_path / "events.db", *args, env=env
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture(scope="session")
def seed_json() -> dict[str, Any]:
    """The seed call: one real phone-to-app call as the platform delivered it, verbatim."""
    return json.loads(SEED_PATH.read_text())


@pytest.fixture(scope="session")
def seed(seed_json: dict[str, Any]) -> RecordedCall:
    return RecordedCall.from_json(seed_json)


@pytest.fixture(scope="session")
def ncco_schema() -> dict[str, Any]:
    """Vonage's NCCO JSON Schema, as the package ships it."""
    from importlib import resources

    return json.loads(resources.files("vcall").joinpath("data/specs/ncco-schema.json").read_text())


@pytest.fixture(scope="session")
def sandbox_serve() -> Callable[..., Any]:
    """``sandbox_serve(paths, **fields)``: the ServeOptions of ``vcall serve`` in the sandbox,
    webhooks checked with the sandbox account's secret, quiet, its store in ``paths``."""
    from vcall.sandbox.account import SandboxState
    from vcall.web.app import ServeOptions

    def options(paths: Any, **fields: Any) -> ServeOptions:
        return ServeOptions(
            **{
                "store": paths.events_db,
                "quiet": True,
                "sandbox": True,
                "paths": paths,
                "signature_secret": SandboxState.open(paths).account.signature_secret,
                **fields,
            }
        )

    return options


@pytest.fixture(scope="session")
def app_key() -> str:
    """One RSA private key (PKCS#8 PEM) for every test that needs one (generating costs ~50 ms)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
async def reader(options):  # type: ignore[no-untyped-def]
    """A second, independent connection to the store file of the ``options`` fixture (each
    test folder defines its own): what was really committed."""
    from vcall.store import open_store

    store = open_store(options.store)
    await store.open()
    yield store
    await store.close()
