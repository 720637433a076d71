"""The answer NCCO: say a line, then connect the caller to an in-app user."""

from __future__ import annotations

from typing import Any

DEFAULT_TALK = "Thank you for calling. Please wait while we connect you."
DEFAULT_USER = "Alice"


class NccoBuilder:
    """Builds the tutorial's NCCO with the SDK's models (``vonage_voice``).

    The ``talk`` action never changes, so it is validated and dumped once; ``connect`` is
    rebuilt per call because it carries the caller's number.
    """

    def __init__(self, talk: str = DEFAULT_TALK, user: str = DEFAULT_USER) -> None:
        from vonage_voice.models import AppEndpoint, Connect, Talk

        self._connect = Connect
        self._endpoint = [AppEndpoint(user=user)]
        self._talk = _dump(Talk(text=talk))
        self.user = user

    def build(self, caller: str | None) -> list[dict[str, Any]]:
        """The NCCO for a call from ``caller`` (whitespace stripped).

        A caller that is not a phone number (withheld, SIP, app user) is connected with
        ``randomFromNumber`` instead of ``from``, which the SDK's model would reject.
        """
        number = "".join((caller or "").split())
        if number.isdigit() and 7 <= len(number) <= 15 and number[0] != "0":
            connect = self._connect(endpoint=self._endpoint, from_=number)
        else:
            connect = self._connect(endpoint=self._endpoint, randomFromNumber=True)
        return [self._talk, _dump(connect)]


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)
