"""Checking a login: authenticate() under the login throttle (throttle.py: counters, delays, the
policy), the login attempts it records, and the security events of refused logins (with keyed
pseudonyms of the username and client address).

Opening a session after a good check is login_sessions.py's.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.identity import blocks, passwords, throttle
from tongban.identity.models import Account, LoginAttempt
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import TooManyRequests, Unauthorized


class LoginFailed(Unauthorized):
    """Wrong username or password (the same error for both, on purpose).

    The failed attempt was flushed, and the unit of work commits it although the error unwinds
    the request (`keeps_writes`): the rate limit must see it.
    """

    keeps_writes = True


class LoginLocked(TooManyRequests):
    """A delay of the login throttle runs for this username at this address, this address or
    this username: the login is refused unchecked. Like LoginFailed, the refusal's event
    outlives the error (`keeps_writes`)."""

    keeps_writes = True


class TemporaryPasswordExpired(LoginFailed):
    """The right temporary password from a service point, after it expired (only someone who
    knows it learns this): the owner asks for a new one. Counted as a failure, like LoginFailed.
    """


# A temporary password a clerk gave at a service point (recovery.py) works this long.
TEMPORARY_PASSWORD_TTL = timedelta(days=7)

# Reason codes of the security events below (never free text).
WRONG_PASSWORD = "wrong_password"
TEMPORARY_EXPIRED = "temporary_password_expired"
UNKNOWN_ACCOUNT = "unknown_account"
ACCOUNT_INACTIVE = "account_inactive"
BAD_CREDENTIALS = "bad_credentials"
RATE_LIMITED = "rate_limited"
# Limit codes of logins the security brain stopped (identity/blocks.py).
GUARD_ADDRESS = "guard_address"
GUARD_ACCOUNT = "guard_account"


def normalize_username(username: str) -> str:
    """Usernames compare case-insensitively and without surrounding blanks."""
    return username.strip().lower()


# --- rate limiting (the counters and the policy: throttle.py) --------------------------------


def _too_many(seconds: int) -> tuple[str, dict[str, str]]:
    return (
        f"Too many failed logins; try again in {seconds} seconds.",
        {"Retry-After": str(seconds)},
    )


def check_login_rate(
    session: Session,
    *,
    username: str,
    client_ip: str,
    settings: Settings,
    now: datetime | None = None,
) -> None:
    """Raise TooManyRequests (with Retry-After) while a delay of the login throttle runs for
    this username at this address."""
    counters = throttle.login_counters(
        settings, username=normalize_username(username), client_ip=client_ip
    )
    refusal = throttle.refused_now(session, counters, now=now or utcnow(), settings=settings)
    if refusal is not None:
        detail, headers = _too_many(refusal.retry_after)
        raise TooManyRequests(detail, headers=headers)


def _note_attempt(
    session: Session, *, username: str, client_ip: str, succeeded: bool, at: datetime
) -> LoginAttempt:
    row = LoginAttempt(
        username=username[:64],
        client_ip=client_ip[:64],
        succeeded=succeeded,
        attempted_at=at,
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

_pseudonym = throttle.pseudonym


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


def _locked(
    session: Session,
    refusal: throttle.Refusal,
    *,
    channel: str,
    settings: Settings,
    username: str,
    client_ip: str,
) -> LoginLocked:
    _record_refusal(
        session,
        action="auth.login_locked",
        reason=RATE_LIMITED,
        channel=channel,
        settings=settings,
        username=username,
        client_ip=client_ip,
        details={"limit": refusal.limit, "retry_after": refusal.retry_after},
    )
    detail, headers = _too_many(refusal.retry_after)
    return LoginLocked(detail, headers=headers)


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    client_ip: str,
    settings: Settings,
    channel: str = "online",
    now: datetime | None = None,
) -> Account:
    """Check credentials under the login throttle; raise LoginFailed alike for any wrong pair.

    A running delay refuses the attempt unchecked (LoginLocked). Otherwise the password is
    checked first and the throttle's counters decide after, under their row locks: a failure
    counts, and an attempt whose counters a parallel attempt has just closed is refused like
    a locked one, whatever its password (its result is never revealed).

    A refusal (LoginLocked, LoginFailed) records `auth.login_locked` or `auth.login_failed`,
    kept although the error unwinds the request.
    """
    at = now or utcnow()
    name = normalize_username(username)
    counters = throttle.login_counters(settings, username=name, client_ip=client_ip)
    refusal = throttle.refused_now(session, counters, now=at, settings=settings)
    blocked = blocks.address_blocked(session, settings=settings, client_ip=client_ip, now=at)
    if refusal is None and blocked is not None:
        refusal = throttle.Refusal(GUARD_ADDRESS, blocks.retry_after(blocked, at))
    if refusal is not None:
        raise _locked(
            session, refusal, channel=channel, settings=settings, username=name, client_ip=client_ip
        )
    account = session.scalar(select(Account).where(Account.username == name))
    locked = (
        None if account is None else blocks.account_blocked(session, account_id=account.id, now=at)
    )
    if locked is not None:
        refusal = throttle.Refusal(GUARD_ACCOUNT, blocks.retry_after(locked, at))
        raise _locked(
            session, refusal, channel=channel, settings=settings, username=name, client_ip=client_ip
        )
    if account is None:
        passwords.verify_no_password(password)
        cause: str | None = UNKNOWN_ACCOUNT
    elif not passwords.verify_password(account, password):
        cause = WRONG_PASSWORD
    elif not account.active:
        cause = ACCOUNT_INACTIVE
    elif account.password_must_change and account.password_changed_at + TEMPORARY_PASSWORD_TTL < at:
        cause = TEMPORARY_EXPIRED
    else:
        cause = None
    ok = cause is None
    note = throttle.note_success if ok else throttle.note_failure
    refusal = note(session, counters, now=at, settings=settings)
    if refusal is not None:
        raise _locked(
            session, refusal, channel=channel, settings=settings, username=name, client_ip=client_ip
        )
    attempt = _note_attempt(session, username=name, client_ip=client_ip, succeeded=ok, at=at)
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
        if cause == TEMPORARY_EXPIRED:
            raise TemporaryPasswordExpired(
                "This temporary password has expired; ask at a service point for a new one, or "
                "reset the password with a code by SMS.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        raise LoginFailed("Wrong username or password.", headers={"WWW-Authenticate": "Bearer"})
    return account
