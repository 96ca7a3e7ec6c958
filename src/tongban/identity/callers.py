"""Who is calling: resolve_actor() finds the caller of every request from a Bearer token or
the session cookie, through one prebuilt query on the fast path; actor_for() makes the Actor
of an account already loaded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session

from tongban.identity import blocks
from tongban.identity.api_tokens import decode_scopes
from tongban.identity.cards import AccountCard, remember_card
from tongban.identity.models import Account, ApiToken, Department, LoginSession
from tongban.identity.passwords import token_digest
from tongban.identity.policy import Actor, Role, TokenScope
from tongban.identity.token_places import note_token_place
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.db.fastpath.direct_sql import fetch_one

SESSION_COOKIE = "tb_session"
# Writing last_used_at on every request would turn every read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=5)
# The request's settings and client address (for address blocks and token places).
_Place = tuple[Settings, str]


def actor_for(
    account: Account,
    *,
    session_id: int | None = None,
    token_id: int | None = None,
    token_scopes: frozenset[TokenScope] = frozenset(),
) -> Actor:
    """The Actor of an account (jurisdiction for officials/stewards, service point for clerks);
    with a token id, the token's scopes bound what it may do."""
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
        token_scopes=token_scopes,
        identity_verified=account.resident_id_hash is not None,
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
    Account.password_changed_at,
    Account.resident_id_hash.is_not(None).label("identity_verified"),
    Department.code.label("department_code"),
)


def _credential_query(credential: type[LoginSession] | type[ApiToken]) -> Select[Any]:
    columns: list[Any] = [credential.id, credential.revoked_at, credential.expires_at]
    if credential is ApiToken:
        columns += [ApiToken.last_used_at, ApiToken.scopes, ApiToken.created_at]
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


def _actor_of(
    row: Any,
    *,
    session_id: int | None = None,
    token_id: int | None = None,
    token_scopes: frozenset[TokenScope] = frozenset(),
) -> Actor:
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
        token_scopes=token_scopes,
        identity_verified=bool(row.identity_verified),
    )


def _session_actor(session: Session, token: str, now: datetime) -> Actor | None:
    row = _credential_row(session, LoginSession, token, now)
    return None if row is None else _actor_of(row, session_id=row.id)


def _token_actor(
    session: Session, token: str, now: datetime, place: _Place | None = None
) -> Actor | None:
    row = _credential_row(session, ApiToken, token, now)
    # A token issued before the password last changed is void even if its revocation was
    # missed (a password set by other means than the owner's change or an admin's reset).
    if row is None or row.created_at < row.password_changed_at:
        return None
    if blocks.token_blocked(session, token_id=row.id, account_id=row.account_id, now=now):
        return None  # suspended by the security brain, or its account locked (blocks.py)
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    if place is not None:
        settings, client_ip = place
        if blocks.address_stopped(session, settings=settings, client_ip=client_ip, now=now):
            return None  # the address is blocked (blocks.py): its callers too, not only logins
        note_token_place(
            session,
            settings=settings,
            token_id=row.id,
            account_id=row.account_id,
            client_ip=client_ip,
        )
    return _actor_of(row, token_id=row.id, token_scopes=decode_scopes(row.scopes))


def _from_stopped_address(
    session: Session, actor: Actor | None, place: _Place | None, now: datetime
) -> Actor | None:
    if actor is None or place is None:
        return actor
    settings, client_ip = place
    if blocks.address_stopped(session, settings=settings, client_ip=client_ip, now=now):
        return None
    return actor


def resolve_actor(
    session: Session,
    *,
    authorization: str | None,
    session_token: str | None,
    settings: Settings | None = None,
    client_ip: str | None = None,
) -> Actor | None:
    """Find the caller: a Bearer API or session token, else the session cookie; else None.

    With the request's settings and client address, a caller from an address the security
    brain blocked is anonymous (sessions opened before the block included), and an API token
    used from an address new to it is noted (token_places.py)."""
    now = utcnow()
    place = (settings, client_ip) if settings is not None and client_ip else None
    if authorization:
        scheme, _, credentials = authorization.strip().partition(" ")
        token = credentials.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 200:
            return None
        # An explicit but bad bearer token never falls back to the cookie.
        if token.startswith("tbk_"):
            return _token_actor(session, token, now, place)
        return _from_stopped_address(session, _session_actor(session, token, now), place, now)
    if session_token and len(session_token) <= 200:
        actor = _session_actor(session, session_token, now)
        return _from_stopped_address(session, actor, place, now)
    return None
