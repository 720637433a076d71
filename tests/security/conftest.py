"""A real ``vcall serve`` app that requires signed webhooks, and a way to sign requests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from aiohttp import web
from threaded_server import serve_in_thread

from vcall.signing import query_payload, sign
from vcall.web.app import ServeOptions, create_app

#: A realistic signature secret (Vonage's are long random strings).
SECRET = "sandbox-signature-secret-0123456789abcdef"


def bearer(payload: bytes, secret: str = SECRET, now: int | None = None) -> dict[str, str]:
    """The Authorization header Vonage would send for ``payload``."""
    token = sign(secret, payload, api_key="abc123", application_id="app-1", now=now)
    return {"Authorization": f"Bearer {token}"}


def signed_get(params: Iterable[tuple[str, str]], **kwargs: object) -> dict[str, str]:
    """Headers for a GET webhook: the query as compact JSON in the order sent."""
    return bearer(query_payload(list(params)), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def sign_body() -> Callable[..., dict[str, str]]:
    """``sign_body(payload, secret=SECRET, now=None)`` → the Authorization header."""
    return bearer


@pytest.fixture
def sign_query() -> Callable[..., dict[str, str]]:
    """``sign_query([(name, value), ...])`` → the Authorization header for a GET webhook."""
    return signed_get


@pytest.fixture
def options(tmp_path: Path) -> ServeOptions:
    return ServeOptions(store=tmp_path / "events.db", quiet=True, signature_secret=SECRET)


@pytest.fixture
async def client(aiohttp_client, options: ServeOptions):  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(options))


@pytest.fixture
def in_thread() -> Callable[[web.Application], AbstractContextManager[str]]:
    """``with in_thread(app) as url:`` a real server on loopback, served from a thread."""
    return serve_in_thread


class ServeProcess:
    """A ``vcall serve`` subprocess on an ephemeral loopback port."""

    def __init__(self, home: Path, store: Path, *args: str, env: dict[str, str] | None = None):
        import os
        import subprocess
        import sys

        self.home = home
        self.log = home.parent / f"serve-{os.getpid()}-{id(self)}.log"
        runtime = home / "serve.json"
        runtime.unlink(missing_ok=True)
        command = [sys.executable, "-m", "vcall", "serve", "--port", "0", "--store", str(store)]
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            [*command, *args],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "VCALL_HOME": str(home), **(env or {})},
        )
        self.url = self._wait_for_url(runtime)

    def _wait_for_url(self, runtime: Path, deadline: float = 30.0) -> str:
        import json
        import time

        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vcall serve exited: {self.output()}")
            try:
                return str(json.loads(runtime.read_text())["url"])
            except (FileNotFoundError, ValueError, KeyError):
                time.sleep(0.02)  # polling for start-up, with a deadline
        raise TimeoutError(f"vcall serve did not start: {self.output()}")

    def output(self) -> str:
        """Everything the process printed so far (stdout and stderr)."""
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """``kill -9``: no clean-up, no chance to flush anything."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Ctrl-C, then wait."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """``serve_process(*args, store=..., env=...)`` starts vcall serve; all are stopped after."""
    started: list[ServeProcess] = []

    def start(
        *args: str, store: Path | None = None, env: dict[str, str] | None = None
    ) -> ServeProcess:
        proc = ServeProcess(tmp_path / ".vcall", store or tmp_path / "events.db", *args, env=env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
