"""Provisioning: find-or-create the application, link the number, find-or-create the user;
and the reverse. Idempotent: a second run with the same options only reads.

The service talks to Vonage only through :class:`vcall.gateway.Gateway`, so the same code
provisions live and in the sandbox. Progress is reported through a ``step`` callback (the CLI
shows a spinner per step); the service itself prints nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from vcall import state as state_file
from vcall import tokens
from vcall._errors import ConfigError, Conflict, NotFound, Refused
from vcall._files import write_private
from vcall._logging import protect
from vcall.config import Settings, load_settings
from vcall.gateway import Gateway, WebhookUrls
from vcall.keygen import new_key_pair
from vcall.modes import (
    Mode,
    for_mode,
    given,
    live_credentials,
    resolve_mode,
    sandbox_credentials,
    trusting,
)
from vcall.paths import Paths
from vcall.remote import discovery
from vcall.repoint import recover
from vcall.sandbox.account import SandboxState
from vcall.sandbox.rest.server import in_background

DEFAULT_NAME = "vcall"
#: Where ``vcall serve`` listens by default: the sandbox's default public URL.
DEFAULT_LOCAL_URL = "http://127.0.0.1:3000"
#: State keys ``vcall setup`` owns (others' keys in state.json are left alone).
SETUP_KEYS = (
    "mode",
    "application_id",
    "application_name",
    "private_key",
    "number",
    "user_name",
    "user_id",
    "public_url",
    "answer_url",
    "event_url",
    "fallback_url",
    "api_key",
    "api_secret",
    "signature_secret",
)

#: ``step(title)`` → a context manager around the step yielding ``done(outcome)``.
Step = Callable[[str], AbstractContextManager[Callable[[str], None]]]
#: ``confirm(offer)`` → whether to buy the offered number.
Confirm = Callable[[dict[str, Any]], bool]
#: ``confirm_release(number)`` → whether to cancel a number vcall bought (it stops costing).
ConfirmRelease = Callable[[str], bool]


@contextlib.contextmanager
def quiet_step(title: str) -> Iterator[Callable[[str], None]]:
    """A ``step`` that reports nothing."""
    yield lambda outcome: None


@dataclass(frozen=True)
class SetupOptions:
    """What ``vcall setup`` was asked for."""

    public_url: str
    name: str = DEFAULT_NAME
    user: str = "Alice"
    number: str | None = None  # E.164 digits (see vcall.phone.normalise)
    buy_country: str | None = None
    force: bool = False


@dataclass
class SetupResult:
    """What was provisioned, and what each step did (``created``, ``found``, ``updated``…)."""

    mode: str
    application_id: str
    application_name: str
    private_key: str
    number: str
    user_name: str
    user_id: str
    public_url: str
    answer_url: str
    event_url: str
    fallback_url: str
    actions: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Everything, for ``--json``."""
        return asdict(self)


def key_matches(private_pem: str | None, public_pem: str | None) -> bool:
    """Whether the private key (PEM) is the other half of the public one."""
    if not private_pem or not public_pem:
        return False
    try:
        mine = tokens.public_key_pem(private_pem)
    except ValueError:
        return False
    return mine.split() == public_pem.split()  # PEM line breaks may differ


class Provisioner:
    """Sets up and tears down the demo's Vonage resources through a gateway."""

    def __init__(
        self,
        gateway: Gateway,
        paths: Paths,
        *,
        step: Step = quiet_step,
        confirm: Confirm = lambda offer: False,
    ) -> None:
        self.gateway = gateway
        self.paths = paths
        self.step = step
        self.confirm = confirm

    # -- setup -----------------------------------------------------------------------------

    def setup(
        self,
        options: SetupOptions,
        *,
        application_id: str | None = None,
        private_key: str | None = None,
    ) -> SetupResult:
        """Provision everything; ``application_id``/``private_key`` (a path or PEM) are the
        ones already configured (flags → env → .env → state), if any."""
        saved = state_file.load(self.paths)
        hooks = WebhookUrls.for_public_url(options.public_url)
        actions: dict[str, str] = {}

        with self.step("Application") as done:
            app, key, actions["application"] = self._application(
                options, hooks, application_id, private_key
            )
            done(f"{actions['application']} {app['id']}")
        with self.step("Number") as done:
            number, actions["number"] = self._number(options, app["id"], saved)
            done(f"{actions['number']} {number}")
        with self.step(f"User {options.user}") as done:
            user_id, actions["user"] = self._user(app["id"], key, options.user)
            done(f"{actions['user']} {user_id}")

        result = SetupResult(
            mode=self.gateway.mode,
            application_id=app["id"],
            application_name=app["name"],
            private_key=str(self.paths.private_key),
            number=number,
            user_name=options.user,
            user_id=user_id,
            public_url=options.public_url,
            answer_url=hooks.answer_url,
            event_url=hooks.event_url,
            fallback_url=hooks.fallback_url,
            actions=actions,
        )
        self._save(result)
        return result

    def _write_key(self, private_pem: str) -> None:
        # The key exists nowhere else: it goes to disk before anything else happens.
        write_private(self.paths.private_key, private_pem)

    def _application(
        self,
        options: SetupOptions,
        hooks: WebhookUrls,
        application_id: str | None,
        private_key: str | None,
    ) -> tuple[dict[str, Any], str, str]:
        """The application, the PKCS#8 key that signs for it, and what was done.

        ``private_key`` is a key configured outside the state file (flag, env, .env); else
        ``.vcall/private.key`` is used. A key that does not match the application's public key
        is replaced by a new pair (the public half sent with the update), written first; for
        an application found only by name that needs ``--force`` (whoever holds its key would
        lose it).
        """
        name = options.name
        app = self.gateway.get_application(application_id) if application_id else None
        by_name = app is None
        if by_name:
            found = self.gateway.find_applications(name)
            app = found[0] if found else None
        if app is None:
            created = self.gateway.create_application(name, hooks)
            key = tokens.load_private_key(created["keys"]["private_key"])
            self._write_key(key)
            return created, key, "created"

        on_disk = self._saved_key()
        key = tokens.load_private_key(private_key) if private_key else on_disk
        new_public = None
        if not key_matches(key, (app.get("keys") or {}).get("public_key")):
            if by_name and not options.force:
                raise Conflict(
                    f"an application named {name!r} exists ({app['id']}) but its private key "
                    f"is not in {self.paths.private_key}; pass --name to create another, or "
                    "--force to give it a new key (whoever holds the old one loses it)"
                )
            # Our copy of the key is missing or not this application's: give it a new one.
            key, new_public = new_key_pair()
        if key != on_disk:
            self._write_key(key)  # .vcall/private.key is always the key that works
        if new_public is None and WebhookUrls.of(app) == hooks and app["name"] == name:
            return app, key, "found"
        updated = self.gateway.update_application(app["id"], name, hooks, new_public)
        return updated, key, "updated key" if new_public else "updated webhooks"

    def _saved_key(self) -> str | None:
        if not self.paths.private_key.is_file():
            return None
        try:
            return tokens.load_private_key(str(self.paths.private_key))
        except ConfigError:
            return None

    def _number(self, options: SetupOptions, app_id: str, saved: dict[str, Any]) -> tuple[str, str]:
        """Link a number to the application; returns it and what was done."""
        owned = self.gateway.owned_numbers()
        if options.buy_country:
            return self._bought_or_buy(options.buy_country.upper(), app_id, owned)
        wanted = options.number
        if wanted is None and saved.get("mode") == self.gateway.mode:
            wanted = saved.get("number")
        if wanted is None:
            wanted = self._pick(owned, app_id, options.force)
        record = next((n for n in owned if n.get("msisdn") == wanted), None)
        if record is None:
            mine = ", ".join(n["msisdn"] for n in owned) or "none"
            raise NotFound(
                f"number {wanted} is not on this account (it owns: {mine}); pass one of them "
                "with --number, or buy one with --buy COUNTRY"
            )
        linked = record.get("app_id")
        if linked == app_id:
            return wanted, "found"
        if linked and not options.force:
            raise Conflict(
                f"number {wanted} is linked to another application ({linked}); "
                "pass --force to move it to this one"
            )
        self.gateway.link_number(record["country"], wanted, app_id)
        return wanted, "moved" if linked else "linked"

    @staticmethod
    def _pick(owned: list[dict[str, Any]], app_id: str, force: bool) -> str:
        """Ours, else a free voice number, else (``force``) one linked elsewhere."""
        voice = [n for n in owned if "VOICE" in n.get("features", ["VOICE"])]
        for candidate in voice:
            if candidate.get("app_id") == app_id:
                return candidate["msisdn"]
        for candidate in voice:
            if not candidate.get("app_id"):
                return candidate["msisdn"]
        if voice and force:
            return voice[0]["msisdn"]
        if voice:
            taken = ", ".join(f"{n['msisdn']} ({n['app_id']})" for n in voice)
            raise Conflict(
                f"every voice number of this account is linked to another application: {taken}; "
                "pass --force to take one over, or buy one with --buy COUNTRY"
            )
        raise NotFound("this account has no voice number: buy one with --buy COUNTRY")

    def _bought_or_buy(
        self, country: str, app_id: str, owned: list[dict[str, Any]]
    ) -> tuple[str, str]:
        """``--buy``: the number the application already has, else one vcall bought before
        that is free, else a new one (after the confirmation). Never two for one setup."""
        ours = next((n for n in owned if n.get("app_id") == app_id), None)
        if ours is not None:
            return ours["msisdn"], "found (already linked: nothing bought)"
        earlier = {n["msisdn"] for n in state_file.bought(self.paths, self.gateway.mode)}
        spare = next(
            (
                n
                for n in owned
                if n.get("msisdn") in earlier
                and not n.get("app_id")
                and n.get("country") == country
            ),
            None,
        )
        if spare is not None:
            self.gateway.link_number(spare["country"], spare["msisdn"], app_id)
            return spare["msisdn"], "linked (bought earlier by vcall: nothing bought)"
        offers = self.gateway.search_numbers(country)
        if not offers:
            raise NotFound(f"no voice numbers available in {country}")
        offer = offers[0]
        if not self.confirm(offer):
            raise Refused("no number bought; run again with --yes to buy it")
        self.gateway.buy_number(offer["country"], offer["msisdn"])
        # Written at once: whatever fails next, vcall knows this number is its to release.
        state_file.remember_bought(self.paths, offer["msisdn"], offer["country"], self.gateway.mode)
        self.gateway.link_number(offer["country"], offer["msisdn"], app_id)
        return offer["msisdn"], "bought and linked"

    def _user(self, app_id: str, key: str, name: str) -> tuple[str, str]:
        found = self.gateway.find_users(app_id, key, name)
        if found:
            return found[0]["id"], "found"
        return self.gateway.create_user(app_id, key, name)["id"], "created"

    def _save(self, result: SetupResult) -> None:
        # Read again: a purchase was recorded in it meanwhile.
        data = {k: v for k, v in state_file.load(self.paths).items() if k not in SETUP_KEYS}
        data.update({k: v for k, v in result.as_json().items() if k != "actions"})
        if self.gateway.mode == "sandbox":
            # Later commands (token, serve) find the sandbox account through state.json.
            creds = self.gateway.credentials
            data.update(
                api_key=creds.api_key,
                api_secret=creds.api_secret,
                signature_secret=creds.signature_secret,
            )
        state_file.save(self.paths, data)

    # -- teardown --------------------------------------------------------------------------

    def teardown(
        self,
        saved: dict[str, Any],
        *,
        purge: bool = False,
        release: bool = False,
        confirm_release: ConfirmRelease = lambda number: False,
    ) -> list[str]:
        """Unlink the number, delete the user and the application, forget the state; with
        ``release``, cancel the numbers vcall bought (each confirmed).

        Returns what was done, one line each; safe to run again (nothing left → ``[]``).
        """
        done: list[str] = []
        app_id = saved.get("application_id")
        if app_id:
            number = saved.get("number")
            if number:
                with self.step("Number") as report:
                    record = next(
                        (n for n in self.gateway.owned_numbers() if n.get("msisdn") == number),
                        None,
                    )
                    if record and record.get("app_id") == app_id:
                        self.gateway.unlink_number(record["country"], number)
                        done.append(f"unlinked {number}")
                    report("unlinked" if done else "not linked")
            key = self._saved_key()
            user_id = saved.get("user_id")
            if user_id and key and self.gateway.get_application(app_id) is not None:
                with self.step("User") as report:
                    gone = self.gateway.delete_user(app_id, key, user_id)
                    if gone:
                        done.append(f"deleted user {user_id}")
                    report("deleted" if gone else "already gone")
            with self.step("Application") as report:
                gone = self.gateway.delete_application(app_id)
                if gone:
                    done.append(f"deleted application {app_id}")
                report("deleted" if gone else "already gone")
        number = saved.get("number")
        bought = {n["msisdn"] for n in state_file.bought(self.paths, self.gateway.mode)}
        if release and number and number not in bought:
            done.append(f"kept {number}: vcall did not buy it, so it never releases it")
        done += self.release(confirm_release) if release else self._still_billed()
        return done + self.local_cleanup(self.paths, purge)

    def release(self, confirm: ConfirmRelease) -> list[str]:
        """Cancel each number vcall bought in this mode that no application uses, once
        ``confirm(number)`` agrees; what was done, one line each."""
        done = []
        owned = {n["msisdn"]: n for n in self.gateway.owned_numbers()}
        for entry in state_file.bought(self.paths, self.gateway.mode):
            msisdn = entry["msisdn"]
            record = owned.get(msisdn)
            if record is None:
                state_file.forget_bought(self.paths, msisdn, self.gateway.mode)
                done.append(f"{msisdn} is no longer on this account")
            elif record.get("app_id"):
                done.append(f"kept {msisdn}: application {record['app_id']} uses it")
            elif not confirm(msisdn):
                done.append(f"kept {msisdn}: not confirmed (--yes to release without asking)")
            else:
                with self.step(f"Release {msisdn}") as report:
                    self.gateway.cancel_number(record["country"], msisdn)
                    state_file.forget_bought(self.paths, msisdn, self.gateway.mode)
                    report("cancelled")
                done.append(f"released {msisdn}: cancelled, it no longer costs anything")
        return done

    def _still_billed(self) -> list[str]:
        numbers = [n["msisdn"] for n in state_file.bought(self.paths, self.gateway.mode)]
        if not numbers:
            return []
        return [
            f"kept {', '.join(numbers)}: bought by vcall, still on the account (billed monthly "
            "live); `vcall teardown --release` cancels it"
        ]

    @staticmethod
    def local_cleanup(paths: Paths, purge: bool) -> list[str]:
        """Remove the state and private key (and with ``purge`` the events database); the
        numbers vcall bought stay recorded in the state file."""
        done = []
        kept = {k: v for k, v in state_file.load(paths).items() if k == state_file.BOUGHT}
        if kept:
            state_file.save(paths, kept)
            done.append(f"removed the setup from {paths.state} (it keeps the numbers vcall bought)")
        targets = [paths.private_key] if kept else [paths.state, paths.private_key]
        if purge:
            targets += sorted(paths.home.glob(paths.events_db.name + "*"))
        for path in targets:
            if path.exists():
                path.unlink()
                done.append(f"removed {path}")
        return done


@contextlib.contextmanager
def connect(mode: Mode, settings: Settings) -> Iterator[Gateway]:
    """A gateway to Vonage (``live``), or to the embedded sandbox's REST API started for the
    block on a loopback port, with its CA trusted meanwhile."""
    if mode == "live":
        yield Gateway("live", live_credentials(settings))
        return
    sandbox = SandboxState.open(settings.paths)
    with in_background(sandbox) as endpoint, trusting(endpoint.ca_cert):
        credentials = sandbox_credentials(settings, sandbox.account)
        protect(credentials.api_secret, credentials.signature_secret)
        yield Gateway("sandbox", credentials, endpoint.host, endpoint.host)


def resolve_public_url(flag: str | None, mode: Mode, paths: Paths) -> str:
    """Where Vonage should send webhooks: ``--public-url``, else the last setup's (same
    mode), else the running ``vcall serve`` (live: its tunnel or ``--public-url``), else
    (sandbox) :data:`DEFAULT_LOCAL_URL`."""
    saved = state_file.load(paths)
    url = flag or (saved.get("public_url") if saved.get("mode") == mode else None)
    if url is None:
        try:
            server = discovery.find(paths)
        except ConfigError:
            server = None
        if server is not None:
            url = server.public_url if mode == "live" else server.public_url or server.url
        if url is None and mode == "sandbox":
            url = DEFAULT_LOCAL_URL
    if url is None:
        raise ConfigError(
            "live setup needs --public-url: a URL Vonage can reach that leads to `vcall serve` "
            "(e.g. an ngrok or cloudflared tunnel to http://127.0.0.1:3000); or start "
            "`vcall serve --live --tunnel cloudflared` first and run setup again"
        )
    return checked_public_url(url, mode)


def checked_public_url(url: str, mode: Mode) -> str:
    """``url`` without a trailing slash, if Vonage could send webhooks to it in ``mode``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--public-url {url!r} must be an http(s) URL, e.g. https://example.com")
    if mode == "live" and parts.hostname in ("127.0.0.1", "localhost", "::1", "0.0.0.0"):
        raise ConfigError(
            f"Vonage cannot reach {url} (it is this machine's loopback); give --public-url "
            "a public address, e.g. a tunnel to vcall serve"
        )
    return url.rstrip("/")


def run_setup(
    *,
    mode: Mode | None = None,
    public_url: str | None = None,
    step: Step = quiet_step,
    confirm: Confirm = lambda offer: False,
    **choices: Any,
) -> SetupResult:
    """``vcall setup``: resolve mode, URL and credentials, then provision.

    ``choices`` are the other :class:`SetupOptions` fields (``name``, ``user``, ``number``,
    ``buy_country``, ``force``).
    """
    paths = Paths.default()
    settings = load_settings(paths)
    chosen = resolve_mode(mode, settings)
    saved_mode = state_file.load(paths).get("mode")
    with connect(chosen, settings) as gateway:
        recovery = recover(
            paths,
            lambda m: contextlib.nullcontext(gateway) if m == chosen else connect(m, settings),
        )
        if recovery is not None:
            with step("Webhooks") as done:
                done(recovery.message)
        options = SetupOptions(public_url=resolve_public_url(public_url, chosen, paths), **choices)
        return Provisioner(gateway, paths, step=step, confirm=confirm).setup(
            options,
            application_id=for_mode(settings, "application_id", chosen, saved_mode),
            # The saved private_key names .vcall/private.key, which setup reads for itself.
            private_key=given(settings, "private_key"),
        )


def run_teardown(
    *,
    purge: bool = False,
    release: bool = False,
    confirm_release: ConfirmRelease = lambda number: False,
    step: Step = quiet_step,
) -> list[str]:
    """``vcall teardown``: undo what the saved state says setup did (nothing saved: only
    the local files, and ``--purge`` the events database); with ``release``, also cancel the
    numbers vcall bought, each after ``confirm_release(number)``."""
    paths = Paths.default()
    saved = state_file.load(paths)
    settings = load_settings(paths)
    if saved.get("application_id"):
        with connect(saved.get("mode", "sandbox"), settings) as gateway:
            return Provisioner(gateway, paths, step=step).teardown(
                saved, purge=purge, release=release, confirm_release=confirm_release
            )
    done: list[str] = []
    modes = {n.get("mode") for n in saved.get(state_file.BOUGHT, [])}
    for mode in sorted(m for m in modes if m in ("live", "sandbox")) if release else ():
        with connect(mode, settings) as gateway:
            done += Provisioner(gateway, paths, step=step).release(confirm_release)
    return done + Provisioner.local_cleanup(paths, purge)
