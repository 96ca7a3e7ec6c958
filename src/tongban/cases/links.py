"""Tracking links (`/track/t/{token}`): signed by the node, bound to one case, with an expiry.

A token is `{number}.{expiry}.{mac}`: the case number, the expiry (Unix seconds, base 36) and an
HMAC-SHA256 truncated to 120 bits, with a key derived from the node's identity key
(`identity.purpose_key`): only this node makes them, each for one case, valid
`tracking_link_days` (a year by default). Short enough for an SMS and a small QR code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta

from tongban.cases import clocks
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.errors import AppError

LINK_INVALID = "This tracking link is not valid."
LINK_EXPIRED = "This tracking link has expired."
_TOKEN = re.compile(r"^([0-9A-Z-]{1,40})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{20})$")
_LINK_PURPOSE = "cases/tracking-link/v1"


class TrackLinkInvalid(AppError):
    """A tracking link that this node did not make, or that has expired (`expired`)."""

    status = 404  # no case behind this link (for whoever holds it)
    code = "tracking-link-invalid"
    title = "Invalid tracking link"

    def __init__(self, *, expired: bool) -> None:
        super().__init__(LINK_EXPIRED if expired else LINK_INVALID)
        self.expired = expired


def _mac(number: str, expiry: str, settings: Settings) -> str:
    key = identity.purpose_key(_LINK_PURPOSE, settings=settings)
    digest = hmac.new(key, f"{number}.{expiry}".encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:15]).decode("ascii")


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
        if not value:
            return out


def tracking_token(*, number: str, settings: Settings, now: datetime | None = None) -> str:
    """A token for the tracking link of one case, valid `tracking_link_days` from now."""
    at = now or clocks.now()
    expiry = _base36(int((at + timedelta(days=settings.tracking_link_days)).timestamp()))
    return f"{number}.{expiry}.{_mac(number, expiry, settings)}"


def number_of_token(token: str, *, settings: Settings, now: datetime | None = None) -> str:
    """The case number a tracking token was made for; TrackLinkInvalid when this node did not
    make it (forged, altered, cut short) or when it has expired."""
    found = _TOKEN.match(token or "")
    if found is None:
        raise TrackLinkInvalid(expired=False)
    number, expiry, mac = found.groups()
    if not hmac.compare_digest(mac, _mac(number, expiry, settings)):
        raise TrackLinkInvalid(expired=False)
    at = now or clocks.now()
    if int(expiry, 36) <= at.timestamp():
        raise TrackLinkInvalid(expired=True)
    return number


def tracking_link(*, base: str, number: str, settings: Settings) -> str:
    """The tracking link of a case under a base URL (the node's public one, or the request's)."""
    return f"{base.rstrip('/')}/track/t/{tracking_token(number=number, settings=settings)}"


def sms_link(*, number: str, settings: Settings) -> str | None:
    """The tracking link an SMS notice carries: only when the node's public address is set
    (an SMS is not an answer to a request whose address could stand in for it)."""
    if not settings.public_base_url:
        return None
    return tracking_link(base=settings.public_base_url, number=number, settings=settings)
