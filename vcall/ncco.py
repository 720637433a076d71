"""The answer NCCO: say a line, then connect the caller to an in-app user."""

from __future__ import annotations

import re
from typing import Any

DEFAULT_TALK = "Thank you for calling. Please wait while we connect you."
DEFAULT_USER = "Alice"
#: The SDK's ``PhoneNumber`` pattern (``vonage_utils.types``), ASCII digits only.
_PHONE = re.compile(r"[1-9][0-9]{6,14}")


class NccoBuilder:
    """Builds the tutorial's NCCO with the SDK's models (``vonage_voice``).

    Both actions are validated and dumped once, here: per call only ``connect``'s ``from``
    changes, to a number checked against the model's own pattern. (Validating a pydantic
    model on every answer request cost more than the rest of the request.)
    """

    def __init__(self, talk: str = DEFAULT_TALK, user: str = DEFAULT_USER) -> None:
        # Imported when a builder is made: `vcall token` and `vcall --help` import this module
        # for DEFAULT_USER, and the SDK's models (pydantic) would weigh on both (bench/startup.py).
        from vonage_voice.models import AppEndpoint, Connect, Talk

        endpoint = [AppEndpoint(user=user)]
        self._talk = _dump(Talk(text=talk))
        self._connect_from = _dump(Connect(endpoint=endpoint, from_="10000000"))
        self._connect_random = _dump(Connect(endpoint=endpoint, randomFromNumber=True))
        self.user = user

    def build(self, caller: str | None) -> list[dict[str, Any]]:
        """The NCCO for a call from ``caller`` (whitespace stripped).

        A caller that is not a phone number (withheld, SIP, app user) is connected with
        ``randomFromNumber`` instead of ``from``, which the SDK's model would reject.
        The actions are shared between calls: serialise them, do not change them.
        """
        number = "".join((caller or "").split())
        if _PHONE.fullmatch(number):
            return [self._talk, {**self._connect_from, "from": number}]
        return [self._talk, self._connect_random]


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)
