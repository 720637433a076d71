"""The user's tunnel program, run by ``vcall serve --tunnel NAME|CMD`` for as long as it serves.

vcall never downloads a tunnel: it starts one the user installed, reads the public URL from
what the program prints, and stops it (and whatever it started) when ``vcall serve`` stops.
Three programs are known by name, each started the way its documentation shows and read where
it prints its URL:

    cloudflared   ``cloudflared tunnel --no-autoupdate --url LOCAL`` (a quick tunnel; the URL
                  is the line of the box it logs on stderr: ``|  https://….trycloudflare.com  |``)
    ngrok         ``ngrok http LOCAL --log stdout --log-format json`` (the URL is the ``url``
                  of the ``{"msg": "started tunnel", …}`` record)
    localtunnel   ``lt --port PORT --local-host HOST`` (prints ``your url is: https://….loca.lt``)

Anything else is a command given in full (``{port}``, ``{host}`` and ``{url}`` in it are the
local server's); its public URL is the first http(s) URL it prints that is not the local one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from vcall._errors import ConfigError, TunnelError

#: Seconds a tunnel may take to print its public URL.
START_TIMEOUT = 30.0
#: Seconds a tunnel may take to exit once asked to, before it is killed.
STOP_TIMEOUT = 5.0
#: Lines of the tunnel's output kept to explain a failure.
KEPT_LINES = 20

_URL = re.compile(r"https?://[^\s\"'<>|]+")
_BOXED_URL = re.compile(r"\|\s+(https?://[^\s|]+)\s*\|")
_LT_URL = re.compile(r"your url is:\s*(https?://\S+)", re.IGNORECASE)


def _cloudflared_url(line: str) -> str | None:
    # The quick tunnel's URL is the only URL cloudflared logs inside its ASCII box.
    match = _BOXED_URL.search(line)
    return match.group(1) if match else None


def _ngrok_url(line: str) -> str | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("msg") != "started tunnel":
        return None
    # ngrok 2 starts an http twin ("command_line (http)") next to the https tunnel.
    if str(record.get("name", "")).endswith("(http)"):
        return None
    url = record.get("url")
    return url if isinstance(url, str) and _URL.fullmatch(url) else None


def _localtunnel_url(line: str) -> str | None:
    match = _LT_URL.search(line)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Program:
    """A tunnel program vcall knows by name."""

    name: str
    executable: str
    install: str
    #: The command line for a local server at ``url`` (``http://host:port``).
    command: Callable[[str], list[str]]
    #: The public URL in one line of its output, if that line carries it.
    public_url: Callable[[str], str | None]


def _lt_command(url: str) -> list[str]:
    parts = urlsplit(url)
    return ["lt", "--port", str(parts.port), "--local-host", parts.hostname or "localhost"]


PROGRAMS: dict[str, Program] = {
    "cloudflared": Program(
        "cloudflared",
        "cloudflared",
        "install cloudflared (https://developers.cloudflare.com/cloudflare-one/connections/"
        "connect-networks/downloads/, e.g. `brew install cloudflared`)",
        lambda url: ["cloudflared", "tunnel", "--no-autoupdate", "--url", url],
        _cloudflared_url,
    ),
    "ngrok": Program(
        "ngrok",
        "ngrok",
        "install ngrok (https://ngrok.com/download, e.g. `brew install ngrok`) and run "
        "`ngrok config add-authtoken TOKEN` once",
        lambda url: ["ngrok", "http", url, "--log", "stdout", "--log-format", "json"],
        _ngrok_url,
    ),
    "localtunnel": Program(
        "localtunnel",
        "lt",
        "install localtunnel with `npm install -g localtunnel` (it provides `lt`)",
        _lt_command,
        _localtunnel_url,
    ),
}


def _any_url(local_url: str) -> Callable[[str], str | None]:
    local = local_url.rstrip("/")

    def public_url(line: str) -> str | None:
        for found in _URL.findall(line):
            url = found.rstrip(".,;:)]}")
            if url.rstrip("/") != local:
                return url
        return None

    return public_url


@dataclass(frozen=True)
class Plan:
    """What to run for a ``--tunnel`` value, and how to find the URL in its output."""

    label: str
    argv: list[str]
    public_url: Callable[[str], str | None]
    install: str


def plan(spec: str, local_url: str) -> Plan:
    """The command for ``spec``: a known program's name, or a command given in full.

    A full command whose program is a known one (``ngrok http 3000 --log stdout
    --log-format json --region eu``) is read the way that program prints its URL.
    """
    spec = spec.strip()
    if spec in PROGRAMS:
        program = PROGRAMS[spec]
        return Plan(program.name, program.command(local_url), program.public_url, program.install)
    parts = urlsplit(local_url)
    try:
        argv = [
            word.replace("{port}", str(parts.port))
            .replace("{host}", parts.hostname or "")
            .replace("{url}", local_url)
            for word in shlex.split(spec)
        ]
    except ValueError as exc:
        raise ConfigError(f"--tunnel {spec!r} is not a command line ({exc})") from None
    if not argv:
        known = ", ".join(PROGRAMS)
        raise ConfigError(f"--tunnel needs a program: {known}, or a whole command")
    name = os.path.basename(argv[0])
    known_program = next((p for p in PROGRAMS.values() if p.executable == name), None)
    if known_program is not None:
        return Plan(name, argv, known_program.public_url, known_program.install)
    return Plan(name, argv, _any_url(local_url), f"install {name} or check the command")


class Tunnel:
    """A running tunnel program and the public URL it printed.

    It runs in a session of its own, so a Ctrl-C in the terminal reaches vcall only, and vcall
    stops it (and anything it started) after the webhooks are put back.
    """

    def __init__(self, plan: Plan, process: asyncio.subprocess.Process, url: str) -> None:
        self.plan = plan
        self.process = process
        self.url = url
        self.output: deque[str] = deque(maxlen=KEPT_LINES)
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    async def start(cls, spec: str, local_url: str, *, timeout: float = START_TIMEOUT) -> Tunnel:
        """Start the tunnel for ``spec`` towards ``local_url`` and wait for its public URL."""
        chosen = plan(spec, local_url)
        if shutil.which(chosen.argv[0]) is None:
            raise ConfigError(
                f"{chosen.argv[0]} is not installed (not on PATH): {chosen.install}; "
                "or run a tunnel yourself and pass its URL with --public-url"
            )
        process = await asyncio.create_subprocess_exec(
            *chosen.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        output: deque[str] = deque(maxlen=KEPT_LINES)
        try:
            url = await asyncio.wait_for(_first_url(process, chosen, output), timeout)
        except TimeoutError:
            await _stop(process)
            raise TunnelError(
                f"{chosen.label} printed no public URL within {timeout:g} s" + _last_line(output)
            ) from None
        except BaseException:
            await _stop(process)
            raise
        if url is None:
            code = await process.wait()
            raise TunnelError(
                f"{chosen.label} exited (code {code}) before printing its public URL"
                + _last_line(output)
            )
        tunnel = cls(chosen, process, url.rstrip("/"))
        tunnel.output.extend(output)
        tunnel._reader = asyncio.create_task(tunnel._drain())
        return tunnel

    async def _drain(self) -> None:
        # The pipe must keep flowing: a tunnel blocked on a full pipe stops forwarding.
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.output.append(line.decode(errors="replace").rstrip())

    async def exited(self) -> int:
        """Wait until the tunnel program ends on its own; its exit code."""
        code = await self.process.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        return code

    def why_it_ended(self, code: int) -> str:
        """One line on how the tunnel ended, with its last line of output."""
        return f"the tunnel ({self.plan.label}) exited with code {code}" + _last_line(self.output)

    async def stop(self) -> None:
        """Stop the program and what it started: SIGTERM, then SIGKILL after a grace."""
        await _stop(self.process)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


async def _first_url(
    process: asyncio.subprocess.Process, chosen: Plan, output: deque[str]
) -> str | None:
    """The first public URL in the program's output; None if it ended without one."""
    assert process.stdout is not None
    while raw := await process.stdout.readline():
        line = raw.decode(errors="replace").rstrip()
        output.append(line)
        url = chosen.public_url(line)
        if url is not None:
            return url
    return None


def _last_line(output: deque[str]) -> str:
    lines = [line for line in output if line.strip()]
    return f": {lines[-1].strip()}" if lines else ""


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)  # its own session: the group is its pid
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            return
        except TimeoutError:
            continue


def stop_orphan(pid: int, argv: list[str]) -> bool | None:
    """Stop a tunnel a dead ``vcall serve`` left running: True if it was stopped, False if it
    is gone, None if it may run but cannot be told apart from another process here.

    The pid is only trusted if the process's command line (``/proc``) still ends with the
    tunnel's: a pid reused since must not be signalled.
    """
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False if Path("/proc/self").exists() else None
    except OSError:
        return None
    running = raw.decode(errors="replace").split("\0")[:-1]
    tail = running[-len(argv) :] if argv else []
    if (
        len(tail) != len(argv)
        or os.path.basename(tail[0]) != os.path.basename(argv[0])
        or tail[1:] != argv[1:]
    ):
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists() or _zombie(pid):
                return True
            time.sleep(0.05)  # polling a process that is not our child, under a deadline
    return True


def _zombie(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[0] == "Z"
