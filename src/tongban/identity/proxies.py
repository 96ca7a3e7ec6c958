"""Proxy authorisations (代办): a citizen lets a relative or a clerk act on their behalf.

A grant gives no power until its agent confirms it (`confirm_proxy`): nobody is made someone's
agent without knowing, and a mistyped username gives a stranger nothing. The agent may also
decline. Authority then holds from `valid_from` until it expires or the principal revokes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.identity.models import Account, ProxyAuthorisation
from tongban.identity.policy import Role
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, FieldError, Forbidden, Invalid, NotFound

ALL_ITEMS = "all"
DEFAULT_VALIDITY = timedelta(days=365)
# Long enough for a year of care, short enough that a forgotten grant lapses.
MAX_VALIDITY = timedelta(days=3 * 366)
MAX_ITEM_CODES = 200


class Relation(StrEnum):
    """How the agent stands to the principal."""

    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    GRANDCHILD = "grandchild"
    RELATIVE = "relative"
    OTHER = "other"
    CLERK = "clerk"  # a service-point clerk (代收代办)


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, errors=[FieldError(field, message)])


def _scope(scope: str | Sequence[str]) -> tuple[bool, list[str]]:
    if isinstance(scope, str):
        if scope.strip().lower() == ALL_ITEMS:
            return True, []
        scope = [scope]
    codes = list(dict.fromkeys(str(c).strip() for c in scope if str(c).strip()))
    if not codes:
        raise _invalid("scope", 'Give "all" or at least one item code.')
    if len(codes) > MAX_ITEM_CODES or any(len(c) > 64 for c in codes):
        raise _invalid("scope", f"At most {MAX_ITEM_CODES} item codes of up to 64 characters.")
    if ALL_ITEMS in (c.lower() for c in codes):
        return True, []
    return False, codes


def grant_proxy(
    session: Session,
    *,
    principal_id: int,
    agent_id: int,
    relation: str,
    scope: str | Sequence[str] = ALL_ITEMS,
    valid_from: datetime | None = None,
    expires_at: datetime | None = None,
    channel: str = "online",
) -> ProxyAuthorisation:
    """The principal (a citizen) authorises an agent (a citizen relative or a clerk)."""
    principal = session.get(Account, principal_id)
    if principal is None or not principal.active:
        raise NotFound(f"No account {principal_id}.")
    if principal.role != Role.CITIZEN:
        raise Forbidden("Only a citizen grants proxy authorisations for themself.")
    agent = session.get(Account, agent_id)
    if agent is None or not agent.active:
        raise _invalid("agent", "No active account with this name.")
    if agent.id == principal.id:
        raise _invalid("agent", "You cannot authorise yourself.")
    try:
        the_relation = Relation(relation)
    except ValueError:
        raise _invalid(
            "relation", "The relation is one of: " + ", ".join(r.value for r in Relation) + "."
        ) from None
    if agent.role == Role.CLERK:
        the_relation = Relation.CLERK
    elif agent.role != Role.CITIZEN:
        raise _invalid(
            "agent", "The agent is a relative's citizen account or a service-point clerk."
        )
    elif the_relation is Relation.CLERK:
        raise _invalid("relation", "This account is not a clerk.")
    all_items, codes = _scope(scope)
    now = utcnow()
    start = valid_from or now
    end = expires_at or start + DEFAULT_VALIDITY
    if end <= start or end <= now:
        raise _invalid("expires_at", "The end must be after the start and in the future.")
    if end - start > MAX_VALIDITY:
        raise _invalid("expires_at", "An authorisation lasts at most three years; renew it then.")
    row = ProxyAuthorisation(
        principal_id=principal.id,
        agent_id=agent.id,
        relation=the_relation.value,
        all_items=all_items,
        item_codes=codes,
        valid_from=start,
        expires_at=end,
        created_at=now,
    )
    session.add(row)
    session.flush()
    events.record(
        session,
        action="proxy.granted",
        resource_type="proxy",
        resource_id=str(row.id),
        channel=channel,
        actor_id=principal.id,
        actor_role=principal.role,
        data={
            "relation": row.relation,
            "scope": ALL_ITEMS if all_items else codes,
            "valid_from": start.isoformat(),
            "expires_at": end.isoformat(),
        },
        # Who is whose proxy stays out of the public ledger leaf (committed to).
        private={"principal_id": principal.id, "agent_id": agent.id},
    )
    return row


def revoke_proxy(
    session: Session, *, proxy_id: int, principal_id: int, channel: str = "online"
) -> ProxyAuthorisation:
    """The principal withdraws an authorisation (NotFound when it is not theirs)."""
    row = session.get(ProxyAuthorisation, proxy_id)
    if row is None or row.principal_id != principal_id:
        raise NotFound(f"No proxy authorisation {proxy_id}.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        principal = session.get(Account, principal_id)
        events.record(
            session,
            action="proxy.revoked",
            resource_type="proxy",
            resource_id=str(row.id),
            channel=channel,
            actor_id=principal_id,
            actor_role=principal.role if principal else None,
            private={"principal_id": row.principal_id, "agent_id": row.agent_id},
        )
    return row


def _held(session: Session, *, proxy_id: int, agent_id: int) -> ProxyAuthorisation:
    row = session.get(ProxyAuthorisation, proxy_id)
    if row is None or row.agent_id != agent_id:
        raise NotFound(f"No proxy authorisation {proxy_id}.")
    return row


def _answer_event(session: Session, row: ProxyAuthorisation, *, action: str, channel: str) -> None:
    agent = session.get(Account, row.agent_id)
    events.record(
        session,
        action=action,
        resource_type="proxy",
        resource_id=str(row.id),
        channel=channel,
        actor_id=row.agent_id,
        actor_role=agent.role if agent else None,
        private={"principal_id": row.principal_id, "agent_id": row.agent_id},
    )


def confirm_proxy(
    session: Session, *, proxy_id: int, agent_id: int, channel: str = "online"
) -> ProxyAuthorisation:
    """The agent accepts an authorisation given to them; from then on it is in force."""
    row = _held(session, proxy_id=proxy_id, agent_id=agent_id)
    state = proxy_status(row)
    if state in ("revoked", "expired"):
        raise Conflict(f"This authorisation is {state}: it can no longer be accepted.")
    if row.confirmed_at is not None:
        return row  # confirming twice changes nothing
    row.confirmed_at = utcnow()
    session.flush()
    _answer_event(session, row, action="proxy.confirmed", channel=channel)
    return row


def decline_proxy(
    session: Session, *, proxy_id: int, agent_id: int, channel: str = "online"
) -> ProxyAuthorisation:
    """The agent refuses an authorisation given to them (or gives up one they accepted)."""
    row = _held(session, proxy_id=proxy_id, agent_id=agent_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        _answer_event(session, row, action="proxy.declined", channel=channel)
    return row


def list_proxies(
    session: Session,
    *,
    principal_id: int | None = None,
    agent_id: int | None = None,
    include_inactive: bool = True,
) -> Sequence[ProxyAuthorisation]:
    """Authorisations granted by a principal and/or held by an agent, newest first."""
    if principal_id is None and agent_id is None:
        return []
    conditions = []
    if principal_id is not None:
        conditions.append(ProxyAuthorisation.principal_id == principal_id)
    if agent_id is not None:
        conditions.append(ProxyAuthorisation.agent_id == agent_id)
    stmt = select(ProxyAuthorisation).where(or_(*conditions))
    if not include_inactive:
        now = utcnow()
        stmt = stmt.where(
            ProxyAuthorisation.revoked_at.is_(None),
            ProxyAuthorisation.confirmed_at.is_not(None),
            ProxyAuthorisation.valid_from <= now,
            ProxyAuthorisation.expires_at > now,
        )
    return session.scalars(stmt.order_by(ProxyAuthorisation.id.desc())).all()


class Validity(Protocol):
    """When an authorisation holds: a row, or identity.service's ProxyView."""

    @property
    def revoked_at(self) -> datetime | None:
        """When it was withdrawn, if it was."""

    @property
    def valid_from(self) -> datetime:
        """From when it holds."""

    @property
    def expires_at(self) -> datetime:
        """Until when it holds."""

    @property
    def confirmed_at(self) -> datetime | None:
        """When the agent accepted it, if they did."""


def proxy_status(row: Validity, *, at: datetime | None = None) -> str:
    """active, revoked, expired, unconfirmed (the agent has not accepted it yet) or pending
    (not yet valid) at the given time."""
    at = at or utcnow()
    if row.revoked_at is not None and row.revoked_at <= at:
        return "revoked"
    if row.expires_at <= at:
        return "expired"
    if row.confirmed_at is None:
        return "unconfirmed"
    if row.valid_from > at:
        return "pending"
    return "active"


def _covers(row: ProxyAuthorisation, item_code: str | None) -> bool:
    if row.all_items:
        return True
    return item_code is not None and item_code in (row.item_codes or [])


def check_proxy(
    session: Session,
    *,
    agent_id: int,
    principal_id: int,
    item_code: str | None,
    at: datetime | None = None,
) -> ProxyAuthorisation:
    """The authorisation letting the agent act for the principal on the item, else Forbidden.

    The error says why: none given, not accepted yet, revoked, expired, not yet valid, or out of
    scope.
    """
    at = at or utcnow()
    rows = session.scalars(
        select(ProxyAuthorisation)
        .where(
            ProxyAuthorisation.agent_id == agent_id,
            ProxyAuthorisation.principal_id == principal_id,
        )
        .order_by(ProxyAuthorisation.expires_at.desc())
    ).all()
    if not rows:
        raise Forbidden("There is no proxy authorisation from this person to you.")
    statuses = [(row, proxy_status(row, at=at)) for row in rows]
    active = [row for row, status in statuses if status == "active"]
    for row in active:
        if _covers(row, item_code):
            principal = session.get(Account, principal_id)
            if principal is None or not principal.active:
                raise Forbidden("The person who granted the authorisation is no longer active.")
            return row
    if active:
        raise Forbidden(f"The proxy authorisation does not cover item {item_code!r}.")
    found = {status for _, status in statuses}
    if "unconfirmed" in found:
        raise Forbidden("You have not accepted this proxy authorisation yet.")
    if "pending" in found:
        start = min(row.valid_from for row, status in statuses if status == "pending")
        raise Forbidden(f"The proxy authorisation is valid only from {start:%Y-%m-%d}.")
    if "expired" in found:
        end = max(row.expires_at for row, status in statuses if status == "expired")
        raise Forbidden(f"The proxy authorisation expired on {end:%Y-%m-%d}.")
    raise Forbidden("The proxy authorisation was revoked.")
