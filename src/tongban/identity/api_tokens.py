"""API tokens: issued to their owner by name with scopes (policy.TokenScope), listed, revoked
one at a time by the owner or all at once (a password change, a deactivation); each change
writes its `token.*` event.

A token is for programs: it may do what its scopes allow within its owner's role, never manage
the account (issue tokens, change the password, proxies, identity): that takes a login session.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.identity.models import Account, ApiToken
from tongban.identity.passwords import token_digest
from tongban.identity.policy import Role, TokenScope, token_scopes_of
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import FieldError, Invalid, NotFound

# Reason code of a token revoked by its owner (never free text).
OWNER_REQUEST = "owner_request"


@dataclass(frozen=True)
class IssuedToken:
    """A new API token; `token` is the clear value, shown to its owner this once."""

    row: ApiToken
    token: str


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, errors=[FieldError(field, message)])


def check_scopes(role: str, scopes: Iterable[str] | None) -> frozenset[TokenScope]:
    """The token scopes asked for, each one that the role can use (all of those when None);
    Invalid names an unknown scope or one that gives the role nothing."""
    usable = token_scopes_of(Role(role))
    if scopes is None:
        return usable
    asked: set[TokenScope] = set()
    for value in scopes:
        try:
            scope = TokenScope(str(value).strip().lower())
        except ValueError:
            known = ", ".join(s.value for s in TokenScope)
            raise _invalid(
                "scopes", f"Unknown scope {str(value)[:20]!r}; one of: {known}."
            ) from None
        if scope not in usable:
            mine = ", ".join(sorted(s.value for s in usable))
            raise _invalid("scopes", f"A {role}'s token may have: {mine}; not {scope.value!r}.")
        asked.add(scope)
    if not asked:
        raise _invalid("scopes", "Give the token at least one scope.")
    return frozenset(asked)


def encode_scopes(scopes: Iterable[TokenScope]) -> str:
    """The stored form: scope names, sorted, space-separated."""
    return " ".join(sorted(s.value for s in scopes))


def decode_scopes(stored: str | None) -> frozenset[TokenScope]:
    """The scopes of a stored token (a name no longer known gives nothing)."""
    known = {s.value: s for s in TokenScope}
    return frozenset(known[name] for name in (stored or "").split() if name in known)


def issue_api_token(
    session: Session,
    *,
    account_id: int,
    name: str,
    scopes: Iterable[str] | None = None,
    expires_in_days: int | None = None,
    settings: Settings,
    channel: str = "system",
    actor_role: str | None = None,
) -> IssuedToken:
    """Create a named API token for the account with the given scopes (all its role can use
    when None) and return it in clear once."""
    label = (name or "").strip()
    if not label or len(label) > 100:
        message = "Give the token a name of 1 to 100 characters."
        raise Invalid(message, errors=[FieldError("name", message)])
    owner = session.get(Account, account_id)
    if owner is None or not owner.active:
        raise NotFound(f"No account {account_id}.")
    granted = check_scopes(owner.role, scopes)
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
        scopes=encode_scopes(granted),
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
        actor_role=actor_role or owner.role,
        data={
            "scopes": sorted(s.value for s in granted),
            "expires_at": row.expires_at.isoformat(),
        },
        # Whose token it is stays out of the public ledger leaf (committed to).
        private={"account_id": account_id},
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
    reason code (e.g. password_changed, account_deactivated); returns how many."""
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
        private={"account_id": account_id},
    )
