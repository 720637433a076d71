"""A throwaway PostgreSQL server for the tests and the benchmarks: Debian's binaries, a
temporary folder, a free loopback port, stopped at the end.

PostgreSQL refuses to run as root, so when the suite runs as root (CI does) every server
command runs as the ``postgres`` user the Debian package creates, in a folder it owns.
Connections go over TCP on 127.0.0.1 with a password (SCRAM), as a real deployment's would.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

USER = "vcall"
#: Long enough for the log redaction to take it for a secret (vcall/_logging.py).
PASSWORD = "pg-test-password-4f1c9b"


def bin_dir() -> Path:
    """The newest installed server's binaries (``/usr/lib/postgresql/<version>/bin``)."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if found:
        newest = max(found, key=lambda p: int(Path(p).parent.parent.name.split(".")[0]))
        return Path(newest).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError(
            "PostgreSQL is not installed: scripts/test.sh installs Debian's postgresql"
        )
    return Path(initdb).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """One PostgreSQL server in its own folder (``start``, ``restart``, ``stop``)."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="vcall-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.settings = settings or {}
        self._bin = bin_dir()
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self._as:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        pwfile.unlink()

    @property
    def url(self) -> str:
        """``postgresql://`` URL of the ``postgres`` database, password included."""
        return self.url_for("postgres")

    def url_for(self, database: str, *, password: bool = True) -> str:
        """The URL of ``database`` on this server (without the password if asked)."""
        auth = f"{USER}:{quote(PASSWORD, safe='')}" if password else USER
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; its URL."""
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with psql (over the server's own socket); what it printed."""
        cmd = [str(self._bin / "psql"), "-h", str(self.root), "-p", str(self.port), "-U", USER]
        cmd += ["-d", database, "-v", "ON_ERROR_STOP=1", "-Atqc", statement]
        done = subprocess.run([*self._as, *cmd], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def _run(self, tool: str, *args: str) -> None:
        cmd = [*self._as, str(self._bin / tool), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}{tail}")

    def _options(self) -> str:
        base = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
            "max_connections": "200",
        }
        return " ".join(f"-c {k}={v}" for k, v in {**base, **self.settings}.items())

    def _ctl(self, action: str, *flags: str) -> None:
        """``pg_ctl <action>``, waiting (a minute at most) until it is done."""
        self._run("pg_ctl", action, "-w", "-t", "60", "-D", str(self.data), *flags)

    def start(self) -> PgCluster:
        """Start the server and wait until it accepts connections."""
        self._ctl("start", "-l", str(self.log), "-o", self._options())
        return self

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart -m <mode>``: every connection is cut, the server comes back."""
        self._ctl("restart", "-m", mode, "-l", str(self.log), "-o", self._options())

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl stop -m <mode>``)."""
        self._ctl("stop", "-m", mode)

    def remove(self) -> None:
        """Stop the server if it runs, and delete its folder."""
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_cluster(settings: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """A started :class:`PgCluster`, removed at the end."""
    cluster = PgCluster(settings)
    try:
        yield cluster.start()
    finally:
        cluster.remove()
