"""Server-side login sessions: login() opens one after authenticate(), logout() closes one as
its owner, revoke_all_sessions() closes them all (a password change, a deactivation); each
writes its `auth.*` event."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.identity.authentication import authenticate
from tongban.identity.models import Account, LoginSession
from tongban.identity.passwords import token_digest
from tongban.identity.throttle import pseudonym
from tongban.platform.config import Settings
from tongban.platform.db import utcnow


@dataclass(frozen=True)
class LoginResult:
    """A successful login: the account, its new session, and the clear token (shown once)."""

    account: Account
    session: LoginSession
    token: str

    def __iter__(self) -> Iterator[Account | str]:
        """Unpacks as (account, token), the pair most callers want."""
        return iter((self.account, self.token))


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
    personal: dict[str, object] | None = None,
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
        personal=personal,
    )


def login(
    session: Session,
    *,
    username: str,
    password: str,
    client_ip: str,
    user_agent: str | None = None,
    settings: Settings,
    channel: str = "online",
    now: datetime | None = None,
) -> LoginResult:
    """Authenticate (under the login throttle, at `now`) and open a server-side session
    (`auth.login`); the clear token is returned only here."""
    account = authenticate(
        session,
        username=username,
        password=password,
        client_ip=client_ip,
        settings=settings,
        channel=channel,
        now=now,
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
        # Where from, for the security brain (guard): never in the public leaf.
        personal={
            "client_key": pseudonym(settings, "client", client_ip),
            "agent_key": pseudonym(settings, "agent", user_agent or ""),
        },
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
