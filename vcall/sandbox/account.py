"""The sandbox's persistent state: account, applications, numbers, users, request log.

Everything lives under ``.vcall/sandbox/`` (folder 0700, files 0600)::

    db.json          {"account": {...}, "applications": {id: app}, "numbers": {msisdn: number},
                      "users": {app_id: {user_id: user}}}   replaced atomically on every write
    requests.jsonl   one JSON line per API request the sandbox answered (the request log)
    ca.pem, server.pem   the local CA and HTTPS certificate (see :mod:`vcall.sandbox.tls`)
    lock             flock(2) target: serialises writers across processes

Several processes may use the same folder at once (``vcall setup`` runs the sandbox API
in-process while ``vcall serve`` simulates calls from it), so readers check the file's
identity on every access and reload when another process replaced it.

The interface other parts of vcall rely on (keep it stable)::

    state = SandboxState(paths.sandbox)        # or SandboxState.open(paths)
    state.account                  -> Account(api_key, api_secret, signature_secret)
    state.application(app_id)      -> dict | None   Applications API v2 JSON (keys.public_key,
                                                    capabilities.voice.webhooks.{answer_url,
                                                    event_url, fallback_answer_url}, signed_callbacks)
    state.applications()           -> list[dict]
    state.application_for_number(msisdn) -> dict | None   the app the number is linked to
    state.numbers()                -> list[dict]    owned numbers: msisdn, country, type,
                                                    features, app_id (when linked)
    state.number(msisdn)           -> dict | None
    state.users(app_id)            -> list[dict]    Users API JSON (id, name, display_name, ...)
    state.user(app_id, user_id)    -> dict | None
    state.user_by_name(name, app_id=None) -> dict | None
    state.request_log()            -> list[dict]    method, path, query, status, auth, notes

Returned dicts are copies: changing them changes nothing on disk. Writes go through
:meth:`SandboxState.transaction` (used by the sandbox REST API).
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import secrets
import string
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcall._errors import ConfigError
from vcall._files import ensure_private_dir, read_json_object, write_private
from vcall.phone import describe
from vcall.sandbox.tls import TlsFiles, ensure_tls

if TYPE_CHECKING:
    from vcall.paths import Paths
    from vcall.sandbox.tls import TlsFiles

#: The number the sandbox account owns out of the box (the seed call's ``to``).
DEFAULT_NUMBER = "442038297050"
_VERSION = 1


@dataclass(frozen=True)
class Account:
    """The sandbox account's credentials (what ``VONAGE_API_KEY`` etc. are live)."""

    api_key: str
    api_secret: str
    signature_secret: str


def _new_account() -> dict[str, str]:
    alnum = string.ascii_letters + string.digits
    return {
        # Shaped like Vonage's: 8 hex digits, a 16-character secret.
        "api_key": secrets.token_hex(4),
        "api_secret": "".join(secrets.choice(alnum) for _ in range(16)),
        # HS256 wants a secret at least as long as the hash (32 bytes); Vonage's are longer.
        "signature_secret": secrets.token_urlsafe(48),
    }


def owned_number(msisdn: str) -> dict[str, Any]:
    """A Numbers API ``ownednumber`` record for ``msisdn`` (country and type from its digits)."""
    country, kind = describe(msisdn)
    return {
        "country": country,
        "msisdn": msisdn,
        "type": kind,
        "features": ["VOICE", "SMS"],
    }


class SandboxState:
    """The sandbox folder, read lazily and reloaded when another process changes it."""

    def __init__(self, folder: Path, *, numbers: Sequence[str] = (DEFAULT_NUMBER,)) -> None:
        """Use ``folder``; a fresh folder starts with a new account owning ``numbers``."""
        self.folder = Path(folder)
        self._initial_numbers = tuple(numbers)
        self._doc: dict[str, Any] | None = None
        self._stamp: tuple[int, int, int] | None = None
        # One writer at a time inside this process (flock is per open file, not per thread).
        self._mutex = threading.RLock()

    @classmethod
    def open(cls, paths: Paths, **kwargs: Any) -> SandboxState:
        """The sandbox state of a vcall home folder."""
        return cls(paths.sandbox, **kwargs)

    # -- files -----------------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.folder / "db.json"

    @property
    def log_path(self) -> Path:
        return self.folder / "requests.jsonl"

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.db_path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _fresh_doc(self, account: dict[str, str] | None = None) -> dict[str, Any]:
        return {
            "version": _VERSION,
            "account": account or _new_account(),
            "applications": {},
            "numbers": {n: owned_number(n) for n in self._initial_numbers},
            "users": {},
        }

    def _read(self) -> dict[str, Any] | None:
        doc = read_json_object(self.db_path, "run `vcall sandbox reset --all`")
        if doc is None:
            return None
        if doc.get("version") != _VERSION:
            raise ConfigError(
                f"{self.db_path} is not a vcall sandbox database; run `vcall sandbox reset --all`"
            )
        return doc

    def _current(self) -> dict[str, Any]:
        """The document as on disk now, created on first use."""
        with self._mutex:
            stamp = self._stat()
            if stamp is None:
                with self.transaction():
                    pass  # creates the file under the lock
                stamp = self._stat()
            if self._doc is None or stamp != self._stamp:
                doc = self._read()
                if doc is None:  # removed between stat and read (reset --all)
                    self._doc, self._stamp = None, None
                    return self._current()
                self._doc, self._stamp = doc, stamp
            return self._doc

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        ensure_private_dir(self.folder)
        with self._mutex, open(self.folder / "lock", "a+b") as fh:
            os.chmod(fh.name, 0o600)
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _write(self, doc: dict[str, Any]) -> None:
        # Keys keep insertion order: listings are oldest first, as Vonage's are.
        write_private(self.db_path, json.dumps(doc, indent=1) + "\n")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        """Read-modify-write under an exclusive lock; the document is saved if changed.

        An exception inside the block leaves the file untouched.
        """
        with self._locked():
            doc = self._read()
            created = doc is None
            if doc is None:
                doc = self._fresh_doc()
            before = copy.deepcopy(doc)
            yield doc
            if created or doc != before:
                self._write(doc)
            self._doc, self._stamp = doc, self._stat()

    def reset(self, *, numbers: Sequence[str] | None = None, everything: bool = False) -> None:
        """Forget applications, users, links and the request log.

        The account (key, secrets) and the CA are kept so configured SDKs keep working,
        unless ``everything``, which also draws a new account and CA. ``numbers`` replaces the
        owned numbers (default: those the state was created with).
        """
        if numbers is not None:
            self._initial_numbers = tuple(numbers)
        with self._locked():
            if everything:
                for name in ("ca.pem", "server.pem"):
                    (self.folder / name).unlink(missing_ok=True)
            old = None if everything else (self._read() or {}).get("account")
            doc = self._fresh_doc(old)
            self._write(doc)
            self._doc, self._stamp = doc, self._stat()
            self.log_path.unlink(missing_ok=True)

    def own(self, numbers: Sequence[str]) -> None:
        """Make sure the account owns these numbers (E.164 digits)."""
        with self.transaction() as doc:
            for msisdn in numbers:
                doc["numbers"].setdefault(msisdn, owned_number(msisdn))

    def tls(self) -> TlsFiles:
        """The CA and server certificate the sandbox serves HTTPS with (issued once)."""
        with self._locked():
            return ensure_tls(self.folder)

    # -- reading ---------------------------------------------------------------------------

    @property
    def account(self) -> Account:
        """The sandbox account's API key, API secret and signature secret."""
        return Account(**self._current()["account"])

    def application(self, app_id: str) -> dict[str, Any] | None:
        """The application as Applications API v2 JSON, or None."""
        app = self._current()["applications"].get(app_id)
        return copy.deepcopy(app) if app is not None else None

    def applications(self) -> list[dict[str, Any]]:
        """Every application, oldest first."""
        return copy.deepcopy(list(self._current()["applications"].values()))

    def numbers(self) -> list[dict[str, Any]]:
        """The numbers the account owns (``app_id`` set when linked to an application)."""
        return copy.deepcopy(list(self._current()["numbers"].values()))

    def number(self, msisdn: str) -> dict[str, Any] | None:
        """One owned number, or None."""
        num = self._current()["numbers"].get(msisdn)
        return copy.deepcopy(num) if num is not None else None

    def application_for_number(self, msisdn: str) -> dict[str, Any] | None:
        """The application ``msisdn`` is linked to, or None (not owned, or not linked)."""
        num = self._current()["numbers"].get(msisdn)
        if not num or not num.get("app_id"):
            return None
        return self.application(num["app_id"])

    def users(self, app_id: str) -> list[dict[str, Any]]:
        """The application's users, oldest first."""
        return copy.deepcopy(list(self._current()["users"].get(app_id, {}).values()))

    def user(self, app_id: str, user_id: str) -> dict[str, Any] | None:
        """One user of an application, or None."""
        found = self._current()["users"].get(app_id, {}).get(user_id)
        return copy.deepcopy(found) if found is not None else None

    def user_by_name(self, name: str, app_id: str | None = None) -> dict[str, Any] | None:
        """The user called ``name`` (in ``app_id``, or in any application), or None."""
        users = self._current()["users"]
        for aid in [app_id] if app_id is not None else list(users):
            for user in users.get(aid, {}).values():
                if user["name"] == name:
                    return copy.deepcopy(user)
        return None

    # -- request log -----------------------------------------------------------------------

    def log_request(self, entry: dict[str, Any]) -> None:
        """Append one line to the request log (0600)."""
        ensure_private_dir(self.folder)
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())  # one write(2) with O_APPEND: lines never interleave
        finally:
            os.close(fd)

    def request_log(self) -> list[dict[str, Any]]:
        """Every logged request, oldest first."""
        try:
            text = self.log_path.read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]
