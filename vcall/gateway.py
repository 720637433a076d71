"""The Vonage gateway: the only module that calls Vonage's APIs through the ``vonage`` SDK
(``vcall.ncco`` uses only the SDK's NCCO models).

It speaks the SDK to the hosts, with the credentials, that :mod:`vcall.modes` hands it
(``HttpClientOptions(api_host=…, rest_host=…)``): Vonage's live, or the embedded sandbox's.
Everything above this module is one code path.

SDK failures become :mod:`vcall._errors` with one human line (:func:`_translated`): bad
credentials, a refused JWT, a missing resource, rate limiting, an unreachable host.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Literal

import requests
from pydantic import ValidationError
from vonage_application import Application, ApplicationConfig, ListApplicationsFilter
from vonage_application.common import Capabilities, Keys, Voice, VoiceUrl, VoiceWebhooks
from vonage_http_client import Auth, HttpClient, HttpClientOptions
from vonage_http_client import errors as http
from vonage_numbers import (
    ListOwnedNumbersFilter,
    NumberParams,
    Numbers,
    NumbersError,
    SearchAvailableNumbersFilter,
    UpdateNumberParams,
)
from vonage_users import ListUsersFilter, User, Users
from vonage_utils.errors import VonageError

from vcall._errors import AuthError, ConfigError, NotFound, RateLimited, UpstreamError
from vcall.modes import LIVE_API_HOST, LIVE_REST_HOST, Credentials, Mode

#: Seconds before an SDK request gives up (the SDK's default is to wait forever).
TIMEOUT = 30


@dataclass(frozen=True)
class WebhookUrls:
    """The voice webhook URLs an application points at."""

    answer_url: str
    event_url: str
    fallback_url: str

    @classmethod
    def for_public_url(cls, public_url: str) -> WebhookUrls:
        """``{public_url}/voice/answer``, ``/voice/event``, ``/voice/fallback``."""
        base = public_url.rstrip("/")
        return cls(f"{base}/voice/answer", f"{base}/voice/event", f"{base}/voice/fallback")

    @classmethod
    def of(cls, application: dict[str, Any]) -> WebhookUrls | None:
        """The webhooks of an application as :meth:`Gateway.get_application` returns it."""
        hooks = ((application.get("capabilities") or {}).get("voice") or {}).get("webhooks") or {}
        try:
            return cls(
                hooks["answer_url"]["address"],
                hooks["event_url"]["address"],
                hooks["fallback_answer_url"]["address"],
            )
        except (KeyError, TypeError):
            return None


class _DropHttpErrorWarnings(logging.Filter):
    """The SDK logs a WARNING with the raw body for every 4xx/5xx before raising; the
    gateway turns each of those into one clear line, so the SDK's copy is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Http Response Error!")


class _DropRetryWarnings(logging.Filter):
    """urllib3 logs a WARNING for each retry of a connection that failed, before the SDK
    gives up; the gateway reports the failure itself, in one line with the fix."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Retrying")


for _logger, _filter in (
    (logging.getLogger("vonage"), _DropHttpErrorWarnings),
    (logging.getLogger("urllib3.connectionpool"), _DropRetryWarnings),
):
    if not any(isinstance(f, _filter) for f in _logger.filters):
        _logger.addFilter(_filter())


def _detail(response: Any) -> str:
    """The useful part of an error body: Vonage's ``detail``/``title`` or Numbers' label."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or "").strip()[:200]
    if not isinstance(body, dict):
        return str(body)[:200]
    text = body.get("detail") or body.get("title") or body.get("error-code-label") or ""
    invalid = body.get("invalid_parameters")
    if isinstance(invalid, list) and invalid:
        text += ": " + "; ".join(f"{p.get('name')} {p.get('reason')}" for p in invalid)
    return str(text)


class _Client:
    """What ``vonage.Vonage`` builds, for the three APIs vcall uses only: importing the
    ``vonage`` umbrella package loads every API's package (about twice the start-up time)."""

    def __init__(self, auth: Any, options: Any) -> None:
        http = HttpClient(auth, options, version("vonage"))  # the SDK's own User-Agent
        self.application = Application(http)
        self.numbers = Numbers(http)
        self.users = Users(http)


class Gateway:
    """What vcall asks of Vonage's Applications, Numbers and Users APIs, live or sandbox.

    Returns plain dicts (the SDK's models dumped); raises :mod:`vcall._errors`.
    """

    def __init__(
        self,
        mode: Mode,
        credentials: Credentials,
        api_host: str = LIVE_API_HOST,
        rest_host: str = LIVE_REST_HOST,
    ) -> None:
        self.mode = mode
        self.credentials = credentials
        self.api_host, self.rest_host = api_host, rest_host
        self._options = HttpClientOptions(api_host=api_host, rest_host=rest_host, timeout=TIMEOUT)
        with self._translated("basic"):
            self._client = _Client(
                Auth(api_key=credentials.api_key, api_secret=credentials.api_secret),
                self._options,
            )
        self._app_clients: dict[tuple[str, str], _Client] = {}

    # -- errors ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _translated(self, auth: Literal["basic", "jwt"]) -> Iterator[None]:
        """SDK and transport errors → one-line :mod:`vcall._errors` (chained)."""
        where = "the vcall sandbox" if self.mode == "sandbox" else "Vonage"
        try:
            yield
        except (http.AuthenticationError, http.ForbiddenError) as exc:
            status = exc.response.status_code
            if auth == "jwt":
                raise AuthError(
                    f"{where} refused the application's JWT ({status}: {_detail(exc.response)}); "
                    "check VONAGE_PRIVATE_KEY / .vcall/private.key belongs to the application"
                ) from exc
            raise AuthError(
                f"{where} refused the credentials ({status}); "
                "check VONAGE_API_KEY / VONAGE_API_SECRET"
            ) from exc
        except http.NotFoundError as exc:
            raise NotFound(f"{where}: not found ({_detail(exc.response)})") from exc
        except http.RateLimitedError as exc:
            raise RateLimited(
                f"{where} is rate-limiting requests (429); wait a minute and run again"
            ) from exc
        except http.HttpRequestError as exc:
            raise UpstreamError(
                f"{where} answered {exc.response.status_code} to "
                f"{exc.response.request.method} {exc.response.request.path_url}: "
                f"{_detail(exc.response)}"
            ) from exc
        except NumbersError as exc:
            raise UpstreamError(f"{where}: {exc}") from exc
        except requests.exceptions.SSLError as exc:
            raise UpstreamError(
                f"TLS with {self.api_host} failed ({exc.__class__.__name__}); "
                + (
                    "run `vcall sandbox reset --all` to issue a new sandbox certificate"
                    if self.mode == "sandbox"
                    else "check the system's CA certificates and any HTTPS proxy"
                )
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise UpstreamError(f"{where} did not answer within {TIMEOUT} s") from exc
        except requests.exceptions.ConnectionError as exc:
            raise UpstreamError(
                f"cannot reach {self.api_host} / {self.rest_host}: check the network "
                "connection (and HTTPS_PROXY)"
            ) from exc
        except ValidationError as exc:
            raise UpstreamError(f"{where} answered something unexpected: {exc}") from exc
        except VonageError as exc:  # the SDK refusing our own input (e.g. a bad key)
            raise ConfigError(f"the Vonage SDK refused the request: {exc}") from exc

    def _for_app(self, application_id: str, private_key: str) -> _Client:
        """An SDK client authenticating with the application's JWT (Users API)."""
        key = (application_id, private_key)
        if key not in self._app_clients:
            with self._translated("jwt"):
                self._app_clients[key] = _Client(
                    Auth(application_id=application_id, private_key=private_key), self._options
                )
        return self._app_clients[key]

    # -- applications ----------------------------------------------------------------------

    def get_application(self, application_id: str) -> dict[str, Any] | None:
        """The application, or None when it does not exist."""
        with self._translated("basic"):
            try:
                return self._client.application.get_application(application_id).model_dump(
                    exclude_none=True
                )
            except http.NotFoundError:
                return None

    def find_applications(self, name: str) -> list[dict[str, Any]]:
        """Every application called ``name`` (pages through the whole list)."""
        found: list[dict[str, Any]] = []
        page: int | None = 1
        with self._translated("basic"):
            while page is not None:
                apps, page = self._client.application.list_applications(
                    ListApplicationsFilter(page_size=100, page=page)
                )
                found.extend(a.model_dump(exclude_none=True) for a in apps if a.name == name)
        return found

    @staticmethod
    def _config(name: str, hooks: WebhookUrls, public_key: str | None) -> Any:
        # No timeouts: the SDK can only send `connect_timeout`, a name Vonage's spec does not
        # define; the defaults (connection 1000 ms, socket 5000/10000 ms) are what we want.
        voice = Voice(
            webhooks=VoiceWebhooks(
                answer_url=VoiceUrl(address=hooks.answer_url, http_method="GET"),
                event_url=VoiceUrl(address=hooks.event_url, http_method="POST"),
                fallback_answer_url=VoiceUrl(address=hooks.fallback_url, http_method="GET"),
            ),
            signed_callbacks=True,
        )
        return ApplicationConfig(
            name=name,
            capabilities=Capabilities(voice=voice),
            keys=Keys(public_key=public_key) if public_key else None,
        )

    def create_application(self, name: str, hooks: WebhookUrls) -> dict[str, Any]:
        """A new voice application; Vonage generates the key pair and returns
        ``keys.private_key`` in this answer only."""
        with self._translated("basic"):
            app = self._client.application.create_application(self._config(name, hooks, None))
        return app.model_dump(exclude_none=True)

    def update_application(
        self, application_id: str, name: str, hooks: WebhookUrls, public_key: str | None = None
    ) -> dict[str, Any]:
        """Replace the application's name and webhooks (and its public key, if given)."""
        with self._translated("basic"):
            app = self._client.application.update_application(
                application_id, self._config(name, hooks, public_key)
            )
        return app.model_dump(exclude_none=True)

    def delete_application(self, application_id: str) -> bool:
        """Delete the application; False when it was already gone."""
        with self._translated("basic"):
            try:
                self._client.application.delete_application(application_id)
            except http.NotFoundError:
                return False
        return True

    # -- numbers ---------------------------------------------------------------------------

    def owned_numbers(self) -> list[dict[str, Any]]:
        """Every number the account owns (``msisdn``, ``country``, ``type``, ``app_id``)."""
        found: list[dict[str, Any]] = []
        index: int | None = 1
        with self._translated("basic"):
            while index is not None:
                numbers, _, index = self._client.numbers.list_owned_numbers(
                    ListOwnedNumbersFilter(size=100, index=index)
                )
                found.extend(n.model_dump(exclude_none=True) for n in numbers)
        return found

    def search_numbers(self, country: str) -> list[dict[str, Any]]:
        """Voice numbers of ``country`` available to buy (``msisdn``, ``type``, ``cost``)."""
        with self._translated("basic"):
            numbers, _, _ = self._client.numbers.search_available_numbers(
                SearchAvailableNumbersFilter(country=country, features="VOICE", size=10)
            )
        return [n.model_dump(exclude_none=True) for n in numbers]

    def buy_number(self, country: str, msisdn: str) -> None:
        """Buy ``msisdn`` (this costs money live)."""
        with self._translated("basic"):
            self._client.numbers.buy_number(NumberParams(country=country, msisdn=msisdn))

    def cancel_number(self, country: str, msisdn: str) -> None:
        """Give ``msisdn`` back: it stops costing money (live), and cannot be undone."""
        with self._translated("basic"):
            self._client.numbers.cancel_number(NumberParams(country=country, msisdn=msisdn))

    def link_number(self, country: str, msisdn: str, application_id: str) -> None:
        """Send the number's inbound calls to the application."""
        with self._translated("basic"):
            self._client.numbers.update_number(
                UpdateNumberParams(country=country, msisdn=msisdn, app_id=application_id)
            )

    def unlink_number(self, country: str, msisdn: str) -> None:
        """Detach the number from any application (``app_id`` set to empty)."""
        with self._translated("basic"):
            self._client.numbers.update_number(
                UpdateNumberParams(country=country, msisdn=msisdn, app_id="")
            )

    # -- users (JWT of the application) ----------------------------------------------------

    def find_users(self, application_id: str, private_key: str, name: str) -> list[dict[str, Any]]:
        """The application's users called ``name``."""
        client = self._for_app(application_id, private_key)
        with self._translated("jwt"):
            users, _ = client.users.list_users(ListUsersFilter(name=name, page_size=100))
        return [u.model_dump(exclude_none=True) for u in users if u.name == name]

    def create_user(self, application_id: str, private_key: str, name: str) -> dict[str, Any]:
        """A new user of the application (display name = name)."""
        client = self._for_app(application_id, private_key)
        with self._translated("jwt"):
            user = client.users.create_user(User(name=name, display_name=name))
        return user.model_dump(exclude_none=True)

    def delete_user(self, application_id: str, private_key: str, user_id: str) -> bool:
        """Delete the user; False when it was already gone."""
        client = self._for_app(application_id, private_key)
        with self._translated("jwt"):
            try:
                client.users.delete_user(user_id)
            except http.NotFoundError:
                return False
        return True
