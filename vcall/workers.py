"""``vcall serve --workers N``: N processes serve one port, each a whole vcall serve on one store.

Each worker binds the port with ``SO_REUSEPORT``, so the kernel spreads new connections over
them; they share nothing but the store (PostgreSQL, or a SQLite file), which is what makes an
event stored by one reach a stream on another. The parent only starts, watches and stops them:

- it reserves the port first (port 0: any free one, the same for all), starts the workers
  with Ctrl-C ignored, and waits until each listens; one that cannot start (the store is
  unreachable, the port taken) stops them all, and its error is the parent's;
- a worker that dies later (killed, crashed) is logged and replaced;
- Ctrl-C or SIGTERM to the parent sends SIGTERM to every worker, each stops as a lone vcall
  serve does (requests in flight answered, the store closed), and the parent waits for them.

The parent runs an event loop too (:func:`vcall.serving.run`), for what vcall serve does once
it listens: point the application's webhooks at it (a tunnel), and put them back at the end.

A worker is ``python -m vcall.workers FD``: the server's options come pickled on its stdin, and
it reports on file descriptor FD that it listens (or why it cannot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from vcall._errors import VcallError
from vcall._logging import configure
from vcall.serving import cannot_listen, run, serve_forever
from vcall.web.app import ServeOptions, create_app

logger = logging.getLogger("vcall.serve")

#: Seconds a worker may take to start listening, and to stop once asked.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
#: Least seconds between two replacements of the same worker (one that dies at once must
#: not spin).
RESPAWN_EVERY = 1.0
#: Seconds between looks at the workers.
CHECK_EVERY = 0.5


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker serves, and where (pickled to it)."""

    options: ServeOptions
    host: str
    port: int


class _Worker:
    """One worker process and the pipe it reports on."""

    def __init__(self, spec: WorkerSpec, number: int) -> None:
        self.number = number
        self.started = time.monotonic()
        read_fd, write_fd = os.pipe()
        # Ctrl-C at a terminal reaches the whole process group: the workers ignore it (and
        # keep ignoring it: Python leaves an ignored SIGINT alone), the parent stops them.
        with _sigint_ignored():
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vcall.workers", str(write_fd)],
                stdin=subprocess.PIPE,
                pass_fds=(write_fd,),
            )
        os.close(write_fd)
        self._reports = os.fdopen(read_fd, "rb")
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write(pickle.dumps(spec))
            self.proc.stdin.close()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> str:
        """The URL the worker serves, once it listens; its error if it cannot start."""
        ready, _, _ = select.select([self._reports], [], [], timeout)
        said = self._reports.read() if ready else b""  # all of it: the worker closes the pipe
        report = pickle.loads(said) if said else None
        if isinstance(report, str):
            return report
        if isinstance(report, BaseException):
            raise report
        self.stop()
        if not ready:
            raise VcallError(f"worker {self.number} did not start in {timeout:g} s")
        raise VcallError(f"worker {self.number} exited with code {self.proc.returncode}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then wait (SIGKILL if it will not stop)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reports.close()


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _reserved_port(host: str, port: int) -> Iterator[int]:
    """Hold ``port`` (0: a free one) with SO_REUSEPORT while the workers bind it too.

    A socket that is bound but does not listen is given no connections.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise cannot_listen(exc, host, port) from None
        yield int(sock.getsockname()[1])


async def serve_workers(
    options: ServeOptions,
    host: str,
    port: int,
    count: int,
    *,
    around: Callable[[str], AbstractAsyncContextManager[Callable[[], Awaitable[None]]]],
) -> None:
    """Serve ``options`` from ``count`` worker processes on one port until cancelled (Ctrl-C
    or SIGTERM under :func:`vcall.serving.run`), then stop every worker.

    ``around(url)`` is entered once all listen and left before they stop, as
    :func:`vcall.serving.serve_forever` does it (vcall serve's tunnel and webhooks); what it
    yields is awaited while the workers serve.
    """
    workers: list[_Worker] = []
    try:
        with _reserved_port(host, port) as bound:
            spec = WorkerSpec(options, host, bound)
            workers = [_Worker(spec, n) for n in range(1, count + 1)]
            urls = [await asyncio.to_thread(worker.wait_ready) for worker in workers]
        async with around(urls[0]) as until:
            supervisor = asyncio.create_task(_supervise(spec, workers))
            try:
                await until()
            finally:
                supervisor.cancel()
    finally:
        for worker in workers:  # all asked at once: they stop side by side
            if worker.proc.poll() is None:
                worker.proc.terminate()
        for worker in workers:
            worker.stop()


async def _supervise(spec: WorkerSpec, workers: list[_Worker]) -> None:
    """Replace any worker that exits, until cancelled."""
    while True:
        for i, worker in enumerate(workers):
            code = worker.proc.poll()
            if code is None:
                continue
            logger.warning(
                "worker %d (pid %d) exited with code %d; starting another",
                worker.number,
                worker.proc.pid,
                code,
            )
            worker.stop()
            await asyncio.sleep(max(0.0, worker.started + RESPAWN_EVERY - time.monotonic()))
            workers[i] = _Worker(spec, worker.number)
            try:
                await asyncio.to_thread(workers[i].wait_ready)
            except VcallError as exc:
                logger.warning("worker %d could not start again: %s", worker.number, exc)
        # A supervisor's pace: a dead worker is replaced within this.
        await asyncio.sleep(CHECK_EVERY)


def _worker_main(report_fd: int) -> None:
    """A worker: serve the app described on stdin, on the shared port, until SIGTERM."""
    configure()
    spec: WorkerSpec = pickle.loads(sys.stdin.buffer.read())
    report = os.fdopen(report_fd, "wb")

    def ready(url: str) -> None:
        report.write(pickle.dumps(url))
        report.close()

    try:
        app = create_app(spec.options)
        run(serve_forever(app, spec.host, spec.port, ready, reuse_port=True))
    except KeyboardInterrupt:
        return
    except VcallError as exc:
        if not report.closed:
            report.write(pickle.dumps(exc))
            report.close()
        else:
            print(f"Error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    _worker_main(int(sys.argv[1]))
