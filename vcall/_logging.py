"""Logging that cannot leak secrets.

:func:`install` replaces the log-record factory, so every record from every logger (vcall's,
aiohttp's, the vonage SDK's) is redacted when it is created, before any handler (a file, the
console, pytest's capture) sees it. Redacted are: the values passed to :func:`protect` (API
secret, signature secret, page key, private key text), and by shape any JWT, PEM private key,
``Authorization`` header value and ``*secret*=`` pair. The ``vonage`` logger is also pinned at
WARNING, because at DEBUG the SDK logs every request's headers.

:func:`configure` is what the CLI calls: install, plus a stderr handler at ``VCALL_LOG_LEVEL``
(default WARNING).
"""

from __future__ import annotations

import logging
import os
import re
import sys

REDACTED = "[redacted]"
#: Shorter values are too likely to occur by chance to be worth redacting.
_MIN_SECRET = 8
_SHAPES = (
    # PEM private keys (PKCS#1 or #8), even when cut off before the END line.
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S
    ),
    # JWTs: base64url JSON header ('{"' → 'eyJ'), payload, signature.
    re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*"),
)
#: ``Authorization: Bearer x``, ``'Authorization': 'Basic x'``, ``api_secret=x``, ``"signature_secret": "x"``.
_PAIRS = re.compile(
    r"(?i)((?:authorization|[\w-]*secret|private[_-]?key|page[_-]?key|token)['\"]?\s*[:=]\s*['\"]?)"
    r"(?:(?:bearer|basic)\s+)?[^\s'\",;&}]+"
)
_secrets: set[str] = set()
_installed = False


def protect(*values: str | None) -> None:
    """Redact these exact values from every log record from now on."""
    for value in values:
        if value and len(value.strip()) >= _MIN_SECRET:
            _secrets.add(value.strip())


def redact(text: str) -> str:
    """``text`` with every protected value and secret-shaped string replaced."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for shape in _SHAPES:
        text = shape.sub(REDACTED, text)
    return _PAIRS.sub(lambda m: m.group(1) + REDACTED, text)


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string must not hide the record
        message = f"{record.msg!r} {record.args!r}"
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        scrubbed = redact(record.exc_text)
        if scrubbed != record.exc_text:
            # A handler that renders exc_info itself would show the original: drop it.
            record.exc_info = None
        record.exc_text = scrubbed
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install() -> None:
    """Redact every log record from now on (idempotent) and keep the SDK's headers out."""
    global _installed
    logging.getLogger("vonage").setLevel(logging.WARNING)
    if _installed:
        return
    base = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = base(*args, **kwargs)
        _scrub(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def configure() -> None:
    """CLI logging: redaction, and a stderr handler at ``VCALL_LOG_LEVEL`` (default WARNING)."""
    install()
    level = os.environ.get("VCALL_LOG_LEVEL", "WARNING").upper()
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level if level in logging.getLevelNamesMapping() else logging.WARNING)
