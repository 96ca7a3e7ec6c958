"""Passwords, login with rate limiting, server-side sessions, API tokens, and resolve_actor."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.identity.cards import AccountCard, remember_card
from tongban.identity.keys import identity_keys
from tongban.identity.models import Account, ApiToken, Department, LoginAttempt, LoginSession
from tongban.identity.policy import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.db.fastpath.direct_sql import fetch_one
from tongban.platform.errors import FieldError, Invalid, NotFound, TooManyRequests, Unauthorized

SESSION_COOKIE = "tb_session"
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256
# Village stations and county halls put many people behind one address, so the per-address
# limit is a multiple of the per-username one: it stops spraying, not a busy hall.
CLIENT_IP_FACTOR = 4
# Writing last_used_at on every request would turn every read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=5)

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the username is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("tongban-no-such-user")


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
OWNER_REQUEST = "owner_request"


def check_password_policy(password: object, *, field: str = "password") -> str:
    """Return the password if it meets the policy, or raise Invalid naming the field."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_LENGTH:
        message = f"A password has at least {PASSWORD_MIN_LENGTH} characters."
        raise Invalid(message, errors=[FieldError(field, message)])
    if len(password) > PASSWORD_MAX_LENGTH:
        message = f"A password has at most {PASSWORD_MAX_LENGTH} characters."
        raise Invalid(message, errors=[FieldError(field, message)])
    return password


def hash_password(password: str) -> str:
    """An Argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(account: Account, password: str) -> bool:
    """Check the password; re-hash it in place when the Argon2 parameters have changed."""
    try:
        _hasher.verify(account.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    return True


def token_digest(token: str) -> str:
    """The SHA-256 (hex) under which a session or API token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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


# --- security events -----------------------------------------------------------------------
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


def _record_session_event(
    session: Session,
    *,
    action: str,
    account_id: int,
    session_id: int,
    channel: str,
    actor_id: int | None,
    actor_role: str | None,
    reason: str | None = None,
) -> None:
    events.record(
        session,
        action=action,
        resource_type="account",
        resource_id=str(account_id),
        channel=channel,
        actor_id=actor_id,
        actor_role=actor_role,
        reason=reason,
        data={"session_id": session_id},
    )


# --- login and sessions --------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    """A successful login: the account, its new session, and the clear token (shown once)."""

    account: Account
    session: LoginSession
    token: str

    def __iter__(self) -> Iterator[Account | str]:
        """Unpacks as (account, token), the pair most callers want."""
        return iter((self.account, self.token))


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
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        cause: str | None = UNKNOWN_ACCOUNT
    elif not verify_password(account, password):
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


def login(
    session: Session,
    *,
    username: str,
    password: str,
    client_ip: str,
    user_agent: str | None = None,
    settings: Settings,
    channel: str = "online",
) -> LoginResult:
    """Authenticate and open a server-side session (`auth.login`); the clear token is
    returned only here."""
    account = authenticate(
        session,
        username=username,
        password=password,
        client_ip=client_ip,
        settings=settings,
        channel=channel,
    )
    token = "tbs_" + secrets.token_urlsafe(32)
    now = utcnow()
    row = LoginSession(
        token_hash=token_digest(token),
        account_id=account.id,
        created_at=now,
        expires_at=now + timedelta(hours=settings.session_ttl_hours),
        user_agent=(user_agent or "")[:300] or None,
        client_ip=client_ip[:64],
    )
    session.add(row)
    session.flush()
    _record_session_event(
        session,
        action="auth.login",
        account_id=account.id,
        session_id=row.id,
        channel=channel,
        actor_id=account.id,
        actor_role=account.role,
    )
    return LoginResult(account=account, session=row, token=token)


def logout(
    session: Session,
    *,
    session_token: str | None = None,
    session_id: int | None = None,
    channel: str = "online",
) -> bool:
    """Revoke one login session (by its token or id) as its owner (`auth.logout`); True when
    one was open."""
    stmt = select(LoginSession).where(LoginSession.revoked_at.is_(None))
    if session_token is not None:
        stmt = stmt.where(LoginSession.token_hash == token_digest(session_token))
    elif session_id is not None:
        stmt = stmt.where(LoginSession.id == session_id)
    else:
        return False
    row = session.scalar(stmt)
    if row is None:
        return False
    row.revoked_at = utcnow()
    session.flush()
    owner = session.get(Account, row.account_id)
    _record_session_event(
        session,
        action="auth.logout",
        account_id=row.account_id,
        session_id=row.id,
        channel=channel,
        actor_id=row.account_id,
        actor_role=owner.role if owner is not None else None,
    )
    return True


def revoke_all_sessions(
    session: Session,
    *,
    account_id: int,
    reason: str,
    except_session_id: int | None = None,
    actor_id: int | None = None,
    actor_role: str | None = None,
    channel: str = "system",
) -> int:
    """Revoke every live login session of the account, one `auth.session_revoked` event each
    with the reason code (e.g. password_changed); returns how many."""
    now = utcnow()
    stmt = (
        update(LoginSession)
        .where(
            LoginSession.account_id == account_id,
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
        )
        .values(revoked_at=now)
        .returning(LoginSession.id)
        .execution_options(synchronize_session=False)
    )
    if except_session_id is not None:
        stmt = stmt.where(LoginSession.id != except_session_id)
    revoked = sorted(session.scalars(stmt).all())
    for session_id in revoked:
        _record_session_event(
            session,
            action="auth.session_revoked",
            account_id=account_id,
            session_id=session_id,
            channel=channel,
            actor_id=actor_id,
            actor_role=actor_role,
            reason=reason,
        )
    return len(revoked)


# --- API tokens ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    """A new API token; `token` is the clear value, shown to its owner this once."""

    row: ApiToken
    token: str


def issue_api_token(
    session: Session,
    *,
    account_id: int,
    name: str,
    expires_in_days: int | None = None,
    settings: Settings,
    channel: str = "system",
    actor_role: str | None = None,
) -> IssuedToken:
    """Create a named API token for the account and return it in clear once."""
    label = (name or "").strip()
    if not label or len(label) > 100:
        message = "Give the token a name of 1 to 100 characters."
        raise Invalid(message, errors=[FieldError("name", message)])
    days = settings.api_token_ttl_days if expires_in_days is None else expires_in_days
    if days < 1 or days > 366 * 2:
        message = "A token lives between 1 and 732 days."
        raise Invalid(message, errors=[FieldError("expires_in_days", message)])
    token = "tbk_" + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(
        token_hash=token_digest(token),
        account_id=account_id,
        name=label,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    # The token's name is free text its owner wrote: it stays in api_tokens, out of the event.
    events.record(
        session,
        action="token.issued",
        resource_type="api_token",
        resource_id=str(row.id),
        channel=channel,
        actor_id=account_id,
        actor_role=actor_role or _role_of(session, account_id),
        data={"account_id": account_id, "expires_at": row.expires_at.isoformat()},
    )
    return IssuedToken(row=row, token=token)


def list_api_tokens(session: Session, *, account_id: int) -> Sequence[ApiToken]:
    """The account's API tokens, newest first (hashes only; clear values are never kept)."""
    stmt = select(ApiToken).where(ApiToken.account_id == account_id).order_by(ApiToken.id.desc())
    return session.scalars(stmt).all()


def revoke_api_token(
    session: Session,
    *,
    token_id: int,
    account_id: int,
    channel: str = "system",
    actor_role: str | None = None,
) -> ApiToken:
    """Revoke one of the account's API tokens, as its owner (NotFound when it is not theirs)."""
    row = session.get(ApiToken, token_id)
    if row is None or row.account_id != account_id:
        raise NotFound(f"No API token {token_id}.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        _record_token_revoked(
            session,
            token_id=row.id,
            account_id=account_id,
            reason=OWNER_REQUEST,
            channel=channel,
            actor_id=account_id,
            actor_role=actor_role or _role_of(session, account_id),
        )
    return row


def revoke_all_api_tokens(
    session: Session,
    *,
    account_id: int,
    reason: str,
    actor_id: int | None = None,
    actor_role: str | None = None,
    channel: str = "system",
) -> int:
    """Revoke every live API token of the account, one `token.revoked` event each with the
    reason code (e.g. account_deactivated); returns how many."""
    now = utcnow()
    revoked = sorted(
        session.scalars(
            update(ApiToken)
            .where(
                ApiToken.account_id == account_id,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > now,
            )
            .values(revoked_at=now)
            .returning(ApiToken.id)
            .execution_options(synchronize_session=False)
        ).all()
    )
    for token_id in revoked:
        _record_token_revoked(
            session,
            token_id=token_id,
            account_id=account_id,
            reason=reason,
            channel=channel,
            actor_id=actor_id,
            actor_role=actor_role,
        )
    return len(revoked)


def _role_of(session: Session, account_id: int) -> str | None:
    account = session.get(Account, account_id)
    return account.role if account is not None else None


def _record_token_revoked(
    session: Session,
    *,
    token_id: int,
    account_id: int,
    reason: str,
    channel: str,
    actor_id: int | None,
    actor_role: str | None,
) -> None:
    events.record(
        session,
        action="token.revoked",
        resource_type="api_token",
        resource_id=str(token_id),
        channel=channel,
        actor_id=actor_id,
        actor_role=actor_role,
        reason=reason,
        data={"account_id": account_id},
    )


# --- resolving the caller ------------------------------------------------------------------


def actor_for(
    account: Account, *, session_id: int | None = None, token_id: int | None = None
) -> Actor:
    """The Actor of an account (jurisdiction for officials/stewards, service point for clerks)."""
    role = Role(account.role)
    region = account.region_code
    department = account.department
    return Actor(
        account_id=account.id,
        username=account.username,
        role=role,
        department_id=account.department_id,
        jurisdiction=region if role in (Role.OFFICIAL, Role.STEWARD) else None,
        service_point=region if role is Role.CLERK else None,
        session_id=str(session_id) if session_id is not None else None,
        department_code=department.code if department is not None else None,
        display_name=account.display_name,
        token_id=token_id,
    )


# One query per request finds the credential, its account and the account's department: the
# ORM's three loads (credential, account, department) cost more than the rest of a small request.
_ACTOR_COLUMNS = (
    Account.id.label("account_id"),
    Account.username,
    Account.role,
    Account.department_id,
    Account.region_code,
    Account.display_name,
    Account.active,
    Account.resident_id_masked,
    Account.phone,
    Department.code.label("department_code"),
)


def _credential_query(credential: type[LoginSession] | type[ApiToken]) -> Select[Any]:
    columns: list[Any] = [credential.id, credential.revoked_at, credential.expires_at]
    if credential is ApiToken:
        columns.append(ApiToken.last_used_at)
    return (
        select(*columns, *_ACTOR_COLUMNS)
        .join(Account, Account.id == credential.account_id)
        .outerjoin(Department, Department.id == Account.department_id)
        .where(credential.token_hash == bindparam("digest"))
    )


# Built once: every request runs one of these, and building a statement and its cache key
# anew each time cost about a tenth of a submission's CPU.
_CREDENTIAL_QUERIES = {kind: _credential_query(kind) for kind in (LoginSession, ApiToken)}


def _credential_row(
    session: Session, credential: type[LoginSession] | type[ApiToken], token: str, now: datetime
) -> Any:
    query = _CREDENTIAL_QUERIES[credential]
    row = fetch_one(session, query, {"digest": token_digest(token)})
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.active:
        return None
    # The caller's own applicant facts come with it: applying for oneself needs no other read.
    remember_card(
        session,
        AccountCard(row.account_id, row.display_name, row.resident_id_masked, row.phone),
    )
    return row


def _actor_of(row: Any, *, session_id: int | None = None, token_id: int | None = None) -> Actor:
    role = Role(row.role)
    return Actor(
        account_id=row.account_id,
        username=row.username,
        role=role,
        department_id=row.department_id,
        jurisdiction=row.region_code if role in (Role.OFFICIAL, Role.STEWARD) else None,
        service_point=row.region_code if role is Role.CLERK else None,
        session_id=str(session_id) if session_id is not None else None,
        department_code=row.department_code,
        display_name=row.display_name,
        token_id=token_id,
    )


def _session_actor(session: Session, token: str, now: datetime) -> Actor | None:
    row = _credential_row(session, LoginSession, token, now)
    return None if row is None else _actor_of(row, session_id=row.id)


def _token_actor(session: Session, token: str, now: datetime) -> Actor | None:
    row = _credential_row(session, ApiToken, token, now)
    if row is None:
        return None
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return _actor_of(row, token_id=row.id)


def resolve_actor(
    session: Session, *, authorization: str | None, session_token: str | None
) -> Actor | None:
    """Find the caller: a Bearer API or session token, else the session cookie; else None."""
    now = utcnow()
    if authorization:
        scheme, _, credentials = authorization.strip().partition(" ")
        token = credentials.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 200:
            return None
        # An explicit but bad bearer token never falls back to the cookie.
        if token.startswith("tbk_"):
            return _token_actor(session, token, now)
        return _session_actor(session, token, now)
    if session_token and len(session_token) <= 200:
        return _session_actor(session, session_token, now)
    return None
