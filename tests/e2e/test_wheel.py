"""vcall as `pip install` gives it: the wheel built from this checkout, installed into a fresh
virtualenv outside the checkout, serves the page, plays the demo and runs the sandbox API.

Installing the wheel's dependencies needs the package index (or pip's cache); the servers it
starts listen on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PAGE_FILES = {"/": "index.html", "/app.js": "app.js", "/style.css": "style.css"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel` builds from this checkout."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = dist.glob("vcall-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh virtualenv, outside the checkout, with the wheel in it."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    done = subprocess.run(
        [*pip, "--disable-pip-version-check", str(wheel)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return venv / "bin"


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose working folder and VCALL_HOME are far from the checkout."""
    home = tmp_path_factory.mktemp("user") / ".vcall"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["VCALL_HOME"] = str(home)
    return env


@contextmanager
def started(cmd: list[str], env: dict[str, str], ready: str) -> Iterator[re.Match[str]]:
    """Run ``cmd`` until its stdout shows the regex ``ready``; stop it with SIGINT."""
    cwd = Path(env["VCALL_HOME"]).parent
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True) as proc:
        try:
            deadline, seen = time.monotonic() + 60, ""
            assert proc.stdout is not None
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                seen += line
                if found := re.search(ready, seen):
                    yield found
                    return
            pytest.fail(f"{cmd[0]} never printed {ready!r}; it printed:\n{seen}")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


def test_the_wheel_carries_the_page_and_the_specs_but_no_node_modules(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for page_file in PAGE_FILES.values():
        assert f"vcall/client/{page_file}" in names
    assert "vcall/client/package-lock.json" in names
    assert {"vcall/data/specs/application.v2.yml", "vcall/data/specs/numbers.yml"} <= set(names)
    assert "vcall/data/specs/LICENSE" in names
    assert not [n for n in names if "node_modules" in n]


def test_installed_vcall_serves_the_page_with_the_key(installed: Path, outside) -> None:
    cmd = [str(installed / "vcall"), "serve", "--port", "0", "--quiet"]
    with started(cmd, outside, r"the page\s+(http://127\.0\.0\.1:\d+)/\?key=(\S+)") as found:
        url, key = found.group(1), found.group(2)
        for path, name in PAGE_FILES.items():
            with urllib.request.urlopen(f"{url}{path}?key={key}", timeout=10) as response:
                assert response.status == 200
                assert response.read() == (ROOT / "client" / name).read_bytes()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}/app.js", timeout=10)
        refused.value.close()
        assert refused.value.code == 401


def test_installed_vcall_demo_answers(installed: Path, outside) -> None:
    fast = ["--talk-for", "0", "--answer-after", "0", "--hold", "0.05"]
    proc = subprocess.run(
        [str(installed / "vcall"), "demo", "--exit", "--port", "0", *fast],
        cwd=Path(outside["VCALL_HOME"]).parent,
        env=outside,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"outcome\s+answered", proc.stdout)


def test_installed_sandbox_serves_the_apis_with_their_specs(installed: Path, outside) -> None:
    """The real SDK (from the installed venv) lists applications through `vcall sandbox serve`,
    whose answers are checked against the shipped specs."""
    cmd = [str(installed / "vcall"), "sandbox", "serve", "--port", "0", "--json"]
    with started(cmd, outside, r"\{.*\}\n") as found:
        sandbox = json.loads(found.group(0))
        script = (
            "import json, sys\n"
            "from vonage import Auth, HttpClientOptions, Vonage\n"
            "s = json.loads(sys.argv[1])\n"
            "client = Vonage(Auth(api_key=s['api_key'], api_secret=s['api_secret']),"
            " HttpClientOptions(api_host=s['host'], rest_host=s['host']))\n"
            "apps, _ = client.application.list_applications()\n"
            "print(len(apps))\n"
        )
        env = {**outside, "REQUESTS_CA_BUNDLE": sandbox["ca_file"]}
        listed = subprocess.run(
            [str(installed / "python"), "-c", script, json.dumps(sandbox)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.strip() == "0"
