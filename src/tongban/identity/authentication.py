"""Checking a login: authenticate() under the rate limit, the login attempts it counts, and the
security events of refused logins (with keyed pseudonyms of the username and client address).

Opening a session after a good check is login_sessions.py's.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta
from math import ceil
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.identity import passwords
from tongban.identity.keys import identity_keys
from tongban.identity.models import Account, LoginAttempt
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import TooManyRequests, Unauthorized

# Village stations and county halls put many people behind one address, so the per-address
# limit is a multiple of the per-username one: it stops spraying, not a busy hall.
CLIENT_IP_FACTOR = 4


class LoginFailed(Unauthorized):
    """Wrong username or password (the same error for both, on purpose).

    The failed attempt was flushed, and the unit of work commits it although the error unwinds
    the request (`keeps_writes`): the rate limit must see it.
    """

    keeps_writes = True


class LoginLocked(TooManyRequests):
    """Too many recent failures for this username or client address: the login is refused
    unchecked. Like LoginFailed, the refusal's event outlives the error (`keeps_writes`)."""

    keeps_writes = True


# Reason codes of the security events below (never free text).
WRONG_PASSWORD = "wrong_password"
UNKNOWN_ACCOUNT = "unknown_account"
ACCOUNT_INACTIVE = "account_inactive"
BAD_CREDENTIALS = "bad_credentials"
RATE_LIMITED = "rate_limited"


def normalize_username(username: str) -> str:
    """Usernames compare case-insensitively and without surrounding blanks."""
    return username.strip().lower()


# --- rate limiting -----------------------------------------------------------------------


def _retry_after(oldest: datetime, window: timedelta, now: datetime) -> int:
    return max(1, ceil((oldest + window - now).total_seconds()))


def _login_lock(
    session: Session, *, username: str, client_ip: str, settings: Settings
) -> tuple[str, int] | None:
    """Which limit a new attempt would break ("username" or "client_address") and the
    seconds until it may try again; None when it may try now."""
    now = utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    since = now - window
    # Failures of this username count only after its last success in the window.
    last_success = session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.username == username,
            LoginAttempt.succeeded.is_(True),
            LoginAttempt.attempted_at > since,
        )
    )
    checks = (
        (
            "username",
            LoginAttempt.username == username,
            max(since, last_success or since),
            settings.login_max_failures,
        ),
        (
            "client_address",
            LoginAttempt.client_ip == client_ip,
            since,
            settings.login_max_failures * CLIENT_IP_FACTOR,
        ),
    )
    for limit_name, condition, start, limit in checks:
        times = session.scalars(
            select(LoginAttempt.attempted_at)
            .where(condition, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at > start)
            .order_by(LoginAttempt.attempted_at.desc())
            .limit(limit)
        ).all()
        if len(times) >= limit:
            return limit_name, _retry_after(times[-1], window, now)
    return None


def _too_many(seconds: int) -> tuple[str, dict[str, str]]:
    return (
        f"Too many failed logins; try again in {seconds} seconds.",
        {"Retry-After": str(seconds)},
    )


def check_login_rate(
    session: Session, *, username: str, client_ip: str, settings: Settings
) -> None:
    """Raise TooManyRequests (with Retry-After) when too many recent logins failed."""
    lock = _login_lock(session, username=username, client_ip=client_ip, settings=settings)
    if lock is not None:
        detail, headers = _too_many(lock[1])
        raise TooManyRequests(detail, headers=headers)


def _note_attempt(
    session: Session, *, username: str, client_ip: str, succeeded: bool
) -> LoginAttempt:
    row = LoginAttempt(
        username=username[:64],
        client_ip=client_ip[:64],
        succeeded=succeeded,
        attempted_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


# --- security events of refused logins -----------------------------------------------------
#
# Events are public ledger leaves except their `personal` part (kept beside the event, only a
# salted commitment in the leaf). A refused login must not tell the public whether the
# username exists: the HTTP answer is the same for both on purpose, and the ledger is read by
# anyone within seconds. So a refused login's public fields are the same whatever the cause
# (its resource is the attempt itself, under a fresh random id); which account, the precise
# cause, and keyed pseudonyms of the username and client address (to correlate attempts
# without keeping them in clear) are in the personal part, for security monitoring.

_PSEUDONYM_CONTEXT = b"tongban/identity/login-pseudonym/v1"


def _pseudonym(settings: Settings, kind: str, value: str) -> str:
    """A keyed hash of a username or client address: stable within the node, meaningless
    without the node's identity key (separate from the resident-ID lookup hash)."""
    key = hmac.new(identity_keys(settings).hmac_secret, _PSEUDONYM_CONTEXT, hashlib.sha256)
    digest = hmac.new(key.digest(), f"{kind}\0{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def _record_refusal(
    session: Session,
    *,
    action: str,
    reason: str,
    channel: str,
    settings: Settings,
    username: str,
    client_ip: str,
    details: dict[str, Any],
) -> None:
    events.record(
        session,
        action=action,
        resource_type="login",
        resource_id=uuid.uuid4().hex,
        channel=channel,
        reason=reason,
        personal={
            **details,
            "username_key": _pseudonym(settings, "username", username),
            "client_key": _pseudonym(settings, "client", client_ip),
        },
    )


# --- authenticate --------------------------------------------------------------------------


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    client_ip: str,
    settings: Settings,
    channel: str = "online",
) -> Account:
    """Check credentials under the rate limit; raise LoginFailed alike for any wrong pair.

    A refusal (LoginLocked, LoginFailed) records `auth.login_locked` or `auth.login_failed`,
    kept although the error unwinds the request.
    """
    name = normalize_username(username)
    lock = _login_lock(session, username=name, client_ip=client_ip, settings=settings)
    if lock is not None:
        limit_name, seconds = lock
        _record_refusal(
            session,
            action="auth.login_locked",
            reason=RATE_LIMITED,
            channel=channel,
            settings=settings,
            username=name,
            client_ip=client_ip,
            details={"limit": limit_name, "retry_after": seconds},
        )
        detail, headers = _too_many(seconds)
        raise LoginLocked(detail, headers=headers)
    account = session.scalar(select(Account).where(Account.username == name))
    if account is None:
        passwords.verify_no_password(password)
        cause: str | None = UNKNOWN_ACCOUNT
    elif not passwords.verify_password(account, password):
        cause = WRONG_PASSWORD
    else:
        cause = None if account.active else ACCOUNT_INACTIVE
    ok = cause is None
    attempt = _note_attempt(session, username=name, client_ip=client_ip, succeeded=ok)
    if cause is not None or account is None:
        _record_refusal(
            session,
            action="auth.login_failed",
            reason=BAD_CREDENTIALS,
            channel=channel,
            settings=settings,
            username=name,
            client_ip=client_ip,
            details={
                "account_id": account.id if account is not None else None,
                "cause": cause,
                "attempt_id": attempt.id,
            },
        )
        raise LoginFailed("Wrong username or password.", headers={"WWW-Authenticate": "Bearer"})
    return account
