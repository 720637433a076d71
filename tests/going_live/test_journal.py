"""The webhook journal: saved before the change, restored on exit or by the next command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from vcall import journal
from vcall._errors import ConfigError
from vcall.config import load_settings
from vcall.gateway import WebhookUrls
from vcall.journal import Lease
from vcall.paths import Paths
from vcall.provision import connect, run_setup
from vcall.repoint import point, recover, restore
from vcall.sandbox.account import SandboxState

HERE = "http://127.0.0.1:3100"


@pytest.fixture
def setup(isolated):  # type: ignore[no-untyped-def]
    """``vcall setup`` on the sandbox: the application points at http://127.0.0.1:3000."""
    return run_setup(mode="sandbox")


def opener(settings):  # type: ignore[no-untyped-def]
    """How recovery opens a gateway, as the commands give it."""
    return lambda mode: connect(mode, settings)


def point_for_dead_serve(app_id: str, tunnel: dict) -> None:
    """What a vcall serve (pid 12345, dead since) did: pointed the webhooks, with ``tunnel``."""
    paths = Paths.default()
    with connect("sandbox", load_settings(paths)) as gateway:
        point(gateway, paths, app_id, HERE, pid=12345, tunnel=tunnel)


def hooks_of(app_id: str) -> WebhookUrls | None:
    return WebhookUrls.of(SandboxState.open(Paths.default()).application(app_id))


def test_point_saves_the_previous_webhooks_before_changing_them(setup):
    paths = Paths.default()
    with connect("sandbox", load_settings(paths)) as gateway, Lease.take(paths) as lease:
        assert lease is not None
        changed = point(gateway, paths, setup.application_id, HERE, pid=os.getpid())
        assert changed is not None and changed.now == WebhookUrls.for_public_url(HERE)
        entry = journal.load(paths)
        assert entry.previous == WebhookUrls.for_public_url("http://127.0.0.1:3000")
        assert entry.pointed_at == changed.now and entry.pid == os.getpid()
        assert oct(journal.journal_path(paths).stat().st_mode & 0o777) == "0o600"
        assert hooks_of(setup.application_id) == changed.now
        # Pointing again where it points changes nothing and journals nothing new.
        assert point(gateway, paths, setup.application_id, HERE, pid=os.getpid()) is None

        assert restore(gateway, paths, entry) == "webhooks put back to http://127.0.0.1:3000"
    assert hooks_of(setup.application_id) == entry.previous
    assert journal.load(paths) is None


def test_a_change_made_meanwhile_by_someone_else_is_left_alone(setup):
    paths = Paths.default()
    with connect("sandbox", load_settings(paths)) as gateway:
        point(gateway, paths, setup.application_id, HERE, pid=os.getpid())
        entry = journal.load(paths)
        app = gateway.get_application(setup.application_id)
        elsewhere = WebhookUrls.for_public_url("https://dashboard.example.com")
        gateway.update_application(setup.application_id, app["name"], elsewhere)
        assert "changed meanwhile (to https://dashboard.example.com)" in restore(
            gateway, paths, entry
        )
    assert hooks_of(setup.application_id) == elsewhere and journal.load(paths) is None


def test_recovery_waits_for_a_live_owner_and_restores_after_it_died(setup):
    paths = Paths.default()
    settings = load_settings(paths)
    owner = Lease.take(paths)  # the serve that made the change, still running
    with connect("sandbox", settings) as gateway:
        point(gateway, paths, setup.application_id, HERE, pid=12345)
    assert recover(paths, opener(settings)) is None  # its owner is alive: not ours to undo
    assert hooks_of(setup.application_id) == WebhookUrls.for_public_url(HERE)

    owner.release()  # what the kernel does when the owner is killed with -9
    found = recover(paths, opener(settings))
    assert found is not None and found.restored
    assert found.message == (
        "vcall serve (pid 12345) stopped without putting back the webhooks: "
        "webhooks put back to http://127.0.0.1:3000"
    )
    assert hooks_of(setup.application_id) == WebhookUrls.for_public_url("http://127.0.0.1:3000")
    assert journal.load(paths) is None and recover(paths, opener(settings)) is None


def test_a_killed_owner_releases_the_lease(setup):
    paths = Paths.default()
    code = (
        "import os, signal, sys; from vcall.config import Paths; from vcall.journal import Lease;"
        "lease = Lease.take(Paths.default()); print(lease is not None, flush=True);"
        "sys.stdin.readline(); os.kill(os.getpid(), signal.SIGKILL)"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout.readline().strip() == "True"
        assert Lease.take(paths) is None  # held by the other process
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(10)
    assert proc.returncode == -9
    with Lease.take(paths) as lease:
        assert lease is not None


def test_recovery_stops_the_tunnel_a_dead_serve_left_running(setup, tunnels_on_path):
    paths = Paths.default()
    argv = ["lt", "--port", "3100", "--local-host", "127.0.0.1"]
    orphan = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert orphan.stdout.readline().startswith("your url is: ")
        point_for_dead_serve(setup.application_id, {"pid": orphan.pid, "argv": argv})
        found = recover(paths, opener(load_settings(paths)))
        assert found.message.endswith(f"; stopped its tunnel (pid {orphan.pid})")
        orphan.wait(5)  # reaped here (our child); a dead serve's would be reaped by init
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
        orphan.stdout.close()


def test_a_pid_that_is_another_program_now_is_not_signalled(setup):
    paths = Paths.default()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        argv = ["cloudflared", "tunnel", "--url", HERE]
        point_for_dead_serve(setup.application_id, {"pid": other.pid, "argv": argv})
        found = recover(paths, opener(load_settings(paths)))
        assert found.restored and "tunnel" not in found.message
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_an_unreadable_journal_is_one_line(isolated):
    paths = Paths.default()
    paths.home.mkdir(parents=True)
    journal.journal_path(paths).write_text(json.dumps({"mode": "sandbox"}))
    with pytest.raises(ConfigError, match=r"webhooks.json is unreadable .* `vcall status`"):
        journal.load(paths)
