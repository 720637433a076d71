"""Every ``--json`` output has the keys the README's "JSON output" table documents."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from threaded_server import serve_in_thread
from typer.testing import CliRunner

from vcall.cli import app
from vcall.paths import Paths
from vcall.provision import run_setup
from vcall.remote import discovery
from vcall.web.app import create_app

README = Path(__file__).resolve().parents[2] / "README.md"
runner = CliRunner()
FAST = ["--outcome", "answered", "--talk-for", "0", "--answer-after", "0", "--hold", "0.05"]


def documented() -> dict[str, tuple[set[str], set[str] | None]]:
    """command → (its keys, the keys of its lists' items, if given), from the README."""
    section = README.read_text().split("## JSON output", 1)[1].split("\n## ", 1)[0]
    shapes = {}
    for command, keys in re.findall(r"^\| `([^`]+)` \| (.+) \|$", section, re.M):
        top = set(re.match(r"`([^`]+)`", keys).group(1).split())
        items = re.search(r"\((?:\w+: )?`([^`]+)`", keys)
        shapes[command] = (top, set(items.group(1).split()) if items else None)
    return shapes


def run_json(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code in (0, 1), result.output  # 1: a status or doctor finding
    return json.loads(result.stdout)


def check(command: str, document: dict, items_of: str | None = None) -> None:
    keys, item_keys = documented()[command]
    assert set(document) == keys, command
    if item_keys is not None and items_of is not None:
        assert document[items_of] and all(set(i) == item_keys for i in document[items_of])


def test_every_command_with_json_is_documented():
    assert set(documented()) == {
        "setup", "teardown", "status", "token --decode", "call", "replay", "sandbox serve",
    }  # fmt: skip


def test_each_shape_is_the_documented_one(sandbox_options):
    paths, options = Paths.default(), sandbox_options
    with serve_in_thread(create_app(options)) as url:
        discovery.announce(paths, url, options.page_key, instance=options.instance)
        run_setup(mode="sandbox", public_url=url)
        check("setup", run_json("setup"))
        check("status", run_json("status"), "checks")
        token = runner.invoke(app, ["token", "Alice"]).stdout.strip()
        check("token --decode", run_json("token", "--decode", token), "findings")
        check("call", run_json("call", *FAST), "legs")
        check("replay", run_json("replay"), "deliveries")
    check("teardown", run_json("teardown"))


def test_sandbox_serve_json(isolated):
    command = [sys.executable, "-m", "vcall", "sandbox", "serve", "--port", "0", "--json"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=os.environ) as proc:
        try:
            line = proc.stdout.readline()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=20)
    check("sandbox serve", json.loads(line))


@pytest.mark.parametrize("command", ["setup", "teardown", "status", "call", "replay", "token"])
def test_json_is_in_each_help(command):
    assert "--json" in runner.invoke(app, [command, "--help"]).stdout
