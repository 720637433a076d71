"""``vcall tail-events`` as a user runs it: a subprocess following a real server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from recorded_call import RecordedCall, send_call

from vcall.config import load_settings
from vcall.paths import Paths
from vcall.remote import discovery
from vcall.replay import signer_for
from vcall.web.app import ServeOptions, create_app

pytestmark = pytest.mark.e2e
DEADLINE = 20.0  # generous: subprocesses start slowly while other suites run


class Proc:
    """A ``python -m vcall …`` subprocess whose output lines are read with a deadline."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.err: list[str] = []

    @classmethod
    async def start(cls, *args: str, **env_vars: str) -> Proc:
        env = {**os.environ, "COLUMNS": "160", **env_vars}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vcall", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        return cls(process)

    async def lines(self, n: int) -> list[str]:
        """The next ``n`` stdout lines."""
        assert self.process.stdout is not None
        async with asyncio.timeout(DEADLINE):
            return [(await self.process.stdout.readline()).decode() for _ in range(n)]

    async def out_until(self, text: str) -> str:
        """Read stdout until it contains ``text``; returns all that was read."""
        assert self.process.stdout is not None
        seen = ""
        async with asyncio.timeout(DEADLINE):
            while text not in seen:
                chunk = await self.process.stdout.read(65536)
                assert chunk, f"stdout closed before {text!r}"
                seen += chunk.decode(errors="replace")
        return seen

    async def err_until(self, text: str) -> str:
        """Read stderr until a line contains ``text``; returns that line."""
        assert self.process.stderr is not None
        async with asyncio.timeout(DEADLINE):
            while True:
                line = (await self.process.stderr.readline()).decode()
                assert line, f"stderr closed before {text!r}; got {self.err}"
                self.err.append(line)
                if text in line:
                    return line

    async def interrupt(self, sig: int = signal.SIGINT) -> tuple[int, str, str]:
        """Ctrl-C (or ``sig``); the exit code and whatever was left on stdout and stderr."""
        self.process.send_signal(sig)
        async with asyncio.timeout(DEADLINE):
            out, err = await self.process.communicate()
        return self.process.returncode or 0, out.decode(), "".join(self.err) + err.decode()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


@pytest.fixture
async def procs():
    started: list[Proc] = []

    async def start(*args: str, **env: str) -> Proc:
        proc = await Proc.start(*args, **env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        await proc.process.wait()


async def test_tail_json_prints_the_seed_call_live_and_ctrl_c_exits_0(
    procs, seed: RecordedCall, seed_json
):
    serve = await procs("serve", "--port", "0", "--quiet")
    (ready,) = await serve.lines(1)
    url = ready.split("listening on ")[1].split()[0]
    tail = await procs("tail-events", "--json")
    # The live table as a terminal shows it (Rich draws frames only on a terminal).
    table = await procs("tail-events", TTY_COMPATIBLE="1", TTY_INTERACTIVE="1")
    await tail.err_until(f"following {url}")
    await table.out_until(f"following {url}")

    # Signed like the sandbox platform: vcall serve checks signatures in the sandbox.
    results = await send_call(url, seed, signer=signer_for(load_settings()))
    assert [r.status for r in results] == [200] * 8

    lines = await tail.lines(7)
    code, rest, err = await tail.interrupt()
    assert code == 0 and rest == "" and "Traceback" not in err
    printed = [json.loads(line) for line in lines]
    assert [p["event"] for p in printed] == seed_json["events"]
    assert [p["id"] for p in printed] == list(range(1, 8))

    screen = await table.out_until("total cost: 0.00144")
    code, rest, err = await table.interrupt(signal.SIGTERM)  # kill: ends as Ctrl-C does
    assert code == 0 and "Traceback" not in err
    assert rest.endswith("\x1b[?25h")  # the terminal gets its cursor back
    last_frame = screen[screen.rindex("┏") :]  # each redraw starts with the table's top
    legs = [line for line in last_frame.splitlines() if "→" in line and "from → to" not in line]
    assert len(legs) == 2 and all("completed" in leg for leg in legs)
    assert "calls seen: 1" in last_frame
    code, _, _ = await serve.interrupt()
    assert code == 0


async def test_server_restart_loses_nothing_and_repeats_nothing(
    procs, aiohttp_server, tmp_path: Path, seed: RecordedCall, seed_json
):
    paths = Paths.default()
    options = ServeOptions(store=tmp_path / "events.db", quiet=True)
    bodies = seed.event_bodies()

    async def post(server, chunk: list[bytes]) -> None:  # type: ignore[no-untyped-def]
        async with asyncio.timeout(DEADLINE):
            for body in chunk:
                resp = await server_client(server).post("/voice/event", data=body)
                assert resp.status == 200

    import aiohttp

    sessions: list[aiohttp.ClientSession] = []

    def server_client(server) -> aiohttp.ClientSession:  # type: ignore[no-untyped-def]
        session = aiohttp.ClientSession(str(server.make_url("")))
        sessions.append(session)
        return session

    try:
        first = await aiohttp_server(create_app(options))
        discovery.announce(paths, str(first.make_url("")).rstrip("/"), options.page_key)
        tail = await procs("tail-events", "--json")
        await tail.err_until("following")
        await post(first, bodies[:3])
        before = await tail.lines(3)

        await first.close()  # like Ctrl-C on vcall serve: streams end, the runtime file goes
        discovery.withdraw(paths)
        await tail.err_until("retrying")

        # Events reach the new server before the tail can find it: it must fetch them by
        # Last-Event-ID, then follow live.
        second = await aiohttp_server(create_app(options))
        await post(second, bodies[3:5])
        second_url = str(second.make_url("")).rstrip("/")
        discovery.announce(paths, second_url, options.page_key)
        await tail.err_until(f"following {second_url}")
        await post(second, bodies[5:])
        after = await tail.lines(4)
    finally:
        for session in sessions:
            await session.close()

    code, rest, err = await tail.interrupt()
    assert code == 0 and rest == ""
    printed = [json.loads(line) for line in before + after]
    assert [p["id"] for p in printed] == list(range(1, 8))
    assert [p["event"] for p in printed] == seed_json["events"]
    down = [line for line in err.splitlines() if "retrying" in line]
    assert len(down) == 1 and "Ctrl-C" in down[0]  # one clear line per outage, not per try


async def test_tail_without_a_server_key_is_refused(procs, tmp_path: Path):
    tail = await procs("tail-events", "--url", "http://127.0.0.1:9")
    async with asyncio.timeout(DEADLINE):
        _, err = await tail.process.communicate()
    assert tail.process.returncode == 2
    assert err.decode().strip() == (
        "Error: no page key for http://127.0.0.1:9: pass --key "
        "(the server keeps it in .vcall/page.key)"
    )


async def test_a_wrong_key_is_one_line_and_exit_2(procs, aiohttp_server, tmp_path: Path):
    server = await aiohttp_server(
        create_app(ServeOptions(store=tmp_path / "events.db", quiet=True))
    )
    url = str(server.make_url("")).rstrip("/")
    tail = await procs("tail-events", "--json", "--url", url, "--key", "wrong")
    async with asyncio.timeout(DEADLINE):
        out, err = await tail.process.communicate()
    assert tail.process.returncode == 2 and out == b""
    assert err.decode().strip() == f"Error: vcall serve at {url} refused the page key (HTTP 401)"


def test_help_imports_no_http_client():
    code = (
        "import sys\n"
        "from vcall.cli import app\n"
        "for args in (['tail-events', '--help'], ['replay', '--help']):\n"
        "    try:\n        app(args)\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in ('httpx', 'aiohttp', 'vonage', 'rich.live') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
