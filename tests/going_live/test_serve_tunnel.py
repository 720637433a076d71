"""``vcall serve --tunnel``: the webhooks follow the tunnel, and come back however serve ends.

Ctrl-C, SIGTERM, the tunnel dying, and ``kill -9`` followed by ``vcall status``: each time the
application's previous webhooks are back, and no tunnel is left running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from vcall import journal
from vcall import state as state_file
from vcall.cli import app
from vcall.gateway import WebhookUrls
from vcall.paths import Paths
from vcall.provision import run_setup
from vcall.remote import discovery
from vcall.sandbox.account import SandboxState
from vcall.tunnel import stop_orphan

runner = CliRunner()
SETUP_HOOKS = WebhookUrls.for_public_url("http://127.0.0.1:3000")


def hooks() -> WebhookUrls | None:
    paths = Paths.default()
    app_id = state_file.load(paths)["application_id"]
    return WebhookUrls.of(SandboxState.open(paths).application(app_id))


def wait_until(condition, what: str, proc: subprocess.Popen | None = None, within=30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"vcall serve ended early: {proc.stderr.read()}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # polling under a deadline


@pytest.fixture
def serve(isolated, tunnels_on_path) -> Iterator:  # type: ignore[no-untyped-def]
    """``serve(*args)`` starts ``vcall serve --port 0 --quiet *args`` after a sandbox setup and
    returns it once it has announced itself; each is killed at the end if still running."""
    run_setup(mode="sandbox")
    started: list[subprocess.Popen] = []
    paths = Paths.default()

    def start(*args: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "vcall", "serve", "--port", "0", "--quiet", *args]
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ
        )
        started.append(proc)
        wait_until(paths.runtime.exists, "vcall serve to announce itself", proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    left = journal.load(paths)  # a test that failed before the journal was recovered
    if left is not None and left.tunnel is not None:
        stop_orphan(int(left.tunnel["pid"]), list(left.tunnel["argv"]))


def through_tunnel() -> tuple[str, int]:
    """The public URL serve announced, and the tunnel's pid from the journal."""
    server = discovery.find(Paths.default())
    entry = journal.load(Paths.default())
    assert server.public_url and entry is not None and entry.tunnel is not None
    assert hooks() == WebhookUrls.for_public_url(server.public_url)
    assert entry.previous == SETUP_HOOKS
    return server.public_url, int(entry.tunnel["pid"])


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_call_through_the_tunnel_then_a_clean_stop_puts_the_webhooks_back(serve, alive, stop):
    proc = serve("--tunnel", "cloudflared")
    public, tunnel_pid = through_tunnel()
    result = runner.invoke(app, ["call", "--outcome", "answered", "--talk-for", "0",
                                 "--answer-after", "0", "--hold", "0.05", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["outcome"] == "answered"
    assert summary["answer_requests"][0]["url"].startswith(f"{public}/voice/answer")

    proc.send_signal(stop)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert f"round trip: {public} reaches this server" in out
    assert "webhooks put back to http://127.0.0.1:3000" in out
    assert hooks() == SETUP_HOOKS and journal.load(Paths.default()) is None
    assert not alive(tunnel_pid)


def test_the_tunnel_dying_stops_serve_and_puts_the_webhooks_back(serve):
    proc = serve("--tunnel", "ngrok")
    _, tunnel_pid = through_tunnel()
    os.killpg(tunnel_pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert err.strip().splitlines()[-1].startswith("Error: the tunnel (ngrok) exited with code -9")
    assert "webhooks put back" in out
    assert hooks() == SETUP_HOOKS and journal.load(Paths.default()) is None


def test_after_kill_9_vcall_status_puts_the_webhooks_back_and_stops_the_tunnel(serve, alive):
    proc = serve("--tunnel", "localtunnel")
    _, tunnel_pid = through_tunnel()
    proc.kill()
    proc.wait(10)
    assert hooks() != SETUP_HOOKS and alive(tunnel_pid)  # left as the kill found them

    result = runner.invoke(app, ["status", "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    restored = checks["webhooks restored"]
    assert restored["ok"] is True
    assert restored["detail"] == (
        f"vcall serve (pid {proc.pid}) stopped without putting back the webhooks: "
        f"webhooks put back to http://127.0.0.1:3000; stopped its tunnel (pid {tunnel_pid})"
    )
    assert hooks() == SETUP_HOOKS and journal.load(Paths.default()) is None
    wait_until(lambda: not alive(tunnel_pid), "the orphaned tunnel to end")


def serve_fails(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "vcall", "serve", "--port", "0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=os.environ)


def test_a_public_url_that_leads_nowhere_changes_nothing(serve):
    run = serve_fails("--public-url", "http://localhost:1")
    assert run.returncode == 1
    assert run.stderr.startswith("Error: http://localhost:1 does not lead to this vcall serve")
    assert len(run.stderr.splitlines()) == 1
    assert hooks() == SETUP_HOOKS and journal.load(Paths.default()) is None


def test_a_missing_tunnel_program_is_one_line(serve, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))
    run = serve_fails("--tunnel", "cloudflared")
    assert run.returncode == 2
    assert len(run.stderr.splitlines()) == 1 and "brew install cloudflared" in run.stderr
    assert hooks() == SETUP_HOOKS


def test_after_kill_9_the_next_serve_puts_them_back_first(serve):
    first = serve("--tunnel", "cloudflared")
    through_tunnel()
    first.kill()
    first.wait(10)
    second = serve()  # in the sandbox it points the application at itself
    wait_until(
        lambda: hooks() == WebhookUrls.for_public_url(discovery.find(Paths.default()).url),
        "the second serve to point the sandbox application at itself",
        second,
    )
    second.send_signal(signal.SIGINT)
    out, _ = second.communicate(timeout=30)
    assert f"vcall serve (pid {first.pid}) stopped without putting back the webhooks" in out
    assert hooks() == SETUP_HOOKS


def test_after_kill_9_vcall_setup_puts_them_back_first(serve, alive):
    proc = serve("--tunnel", "ngrok")
    _, tunnel_pid = through_tunnel()
    proc.kill()
    proc.wait(10)
    result = runner.invoke(app, ["setup"])
    assert result.exit_code == 0, result.output
    assert (
        f"✓ Webhooks: vcall serve (pid {proc.pid}) stopped without putting back the webhooks: "
        "webhooks put back to http://127.0.0.1:3000"
    ) in " ".join(result.stderr.split())  # as wide as the terminal: lines wrap
    assert hooks() == SETUP_HOOKS and journal.load(Paths.default()) is None
    wait_until(lambda: not alive(tunnel_pid), "the orphaned tunnel to end")
