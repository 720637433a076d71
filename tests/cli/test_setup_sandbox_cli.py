"""``vcall sandbox serve|reset``, and the README's lines that point an SDK at the sandbox."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from vcall.cli import app
from vcall.paths import Paths
from vcall.sandbox.account import DEFAULT_NUMBER, SandboxState

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_snippet() -> str:
    """The Python block of the README's "Sandbox vs live" section."""
    section = README.read_text().split("## Sandbox vs live", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def first_line(proc: subprocess.Popen, deadline: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.1):
                return proc.stdout.readline()
            assert proc.poll() is None, proc.stderr.read()
    raise AssertionError("vcall sandbox serve did not print its details in time")


def test_serve_prints_how_to_connect_and_the_readme_lines_work(isolated):
    command = [sys.executable, "-m", "vcall", "sandbox", "serve", "--port", "0", "--json"]
    env = {**os.environ, "VCALL_HOME": str(Paths.default().home)}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            info = json.loads(first_line(proc, time.monotonic() + 20))
            account = SandboxState.open(Paths.default()).account
            assert (info["api_key"], info["api_secret"], info["signature_secret"]) == (
                account.api_key,
                account.api_secret,
                account.signature_secret,
            )
            assert info["url"] == f"https://{info['host']}" and Path(info["ca_file"]).is_file()

            code = (
                readme_snippet()
                .replace("127.0.0.1:8443", info["host"])
                .replace("<API key>", info["api_key"])
                .replace("<API secret>", info["api_secret"])
            )
            run = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
            )
            assert run.returncode == 0, run.stderr
            assert "([], None)" in run.stdout  # list_applications() on a fresh sandbox
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()  # else leaving the with block would wait for it for ever
                raise
    assert proc.returncode == 0


def test_reset_forgets_everything_but_the_account(isolated):
    state = SandboxState.open(Paths.default())
    account = state.account
    with state.transaction() as doc:
        doc["applications"]["A"] = {"id": "A", "name": "x"}
    result = CliRunner().invoke(app, ["sandbox", "reset", "--number", "+1 201 555 0124"])
    assert result.exit_code == 0, result.output
    assert "12015550124" in result.stdout
    assert state.applications() == [] and state.account == account
    result = CliRunner().invoke(app, ["sandbox", "reset", "--all"])
    assert result.exit_code == 0
    assert state.account != account
    assert [n["msisdn"] for n in state.numbers()] == [DEFAULT_NUMBER]
