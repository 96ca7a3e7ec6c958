"""The SMS gateway: an interface to the outside that provinces connect to their own provider.

The gateway is chosen by `TONGBAN_SMS_GATEWAY=module:Class` (docs/sms-gateway.md). The
default writes each text to the log with the number masked.
"""

from __future__ import annotations

import importlib
import logging
from functools import lru_cache
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)

# Where the default gateway lived before adapters/ existed: settings written then still work.
_FORMER_PATHS = {"tongban.cases.notify:LoggingSmsGateway": "tongban.adapters.sms:LoggingSmsGateway"}


@runtime_checkable
class SmsGateway(Protocol):
    """What a real SMS gateway implements: send one text to one mainland mobile number."""

    def send(self, phone: str, text: str) -> None:
        """Send the text; raise on failure (the caller logs it and carries on)."""


def mask_phone(phone: str) -> str:
    """138****5678: enough to tell numbers apart in a log, not enough to call."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


class LoggingSmsGateway:
    """The default gateway: writes each message to the log, with the phone number masked."""

    def send(self, phone: str, text: str) -> None:
        """Log instead of sending."""
        log.info("sms to %s: %s", mask_phone(phone), text)


@lru_cache(maxsize=8)
def load_gateway(path: str) -> SmsGateway:
    """Instantiate the gateway class named `module:Class`."""
    module_name, _, class_name = _FORMER_PATHS.get(path, path).partition(":")
    if not module_name or not class_name:
        raise ValueError(f"TONGBAN_SMS_GATEWAY must be module:Class, got {path!r}")
    gateway = getattr(importlib.import_module(module_name), class_name)()
    if not isinstance(gateway, SmsGateway):
        raise TypeError(f"{path} has no send(phone, text) method")
    return gateway
