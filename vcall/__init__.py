"""vcall: the Vonage 'answer a phone call in the browser' demo, provisioned and run in one go."""

from vcall._errors import (
    ConfigError,
    Conflict,
    GatewayError,
    InvalidInput,
    NotFound,
    Refused,
    RemoteError,
    StoreError,
    VcallError,
)

__version__ = "0.1.0"
__all__ = [
    "ConfigError",
    "Conflict",
    "GatewayError",
    "InvalidInput",
    "NotFound",
    "Refused",
    "RemoteError",
    "StoreError",
    "VcallError",
    "__version__",
]
