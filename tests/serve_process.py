"""``vcall serve`` as a real process on an ephemeral loopback port, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class ServeProcess:
    """A ``vcall serve`` subprocess; ``home`` is its VCALL_HOME (one per instance)."""

    def __init__(
        self, home: Path, store: Path | str, *args: str, env: dict[str, str] | None = None
    ) -> None:
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
        try:
            info = self._wait_for(runtime)
        except BaseException:
            self.stop(signal.SIGKILL, timeout=10)
            raise
        self.url, self.key = str(info["url"]), str(info["key"])

    def _wait_for(self, runtime: Path, deadline: float = 60.0) -> dict[str, object]:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vcall serve exited: {self.output()}")
            try:
                return dict(json.loads(runtime.read_text()))
            except (FileNotFoundError, ValueError):
                time.sleep(0.02)  # polling for start-up, with a deadline
        raise TimeoutError(f"vcall serve did not start: {self.output()}")

    def output(self) -> str:
        """Everything the process printed so far (stdout and stderr)."""
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors="replace")

    def children(self) -> list[int]:
        """The pids of its child processes (the workers of ``--workers``)."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except FileNotFoundError:
            return []

    def kill(self) -> None:
        """``kill -9``: no clean-up, no chance to flush anything."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        """Ctrl-C (or ``sig``), then wait; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()
        return self.proc.returncode
