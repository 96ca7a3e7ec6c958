"""Stops the security brain (guard, issue #20) places and the request path enforces, and the
security events of refused authorizations.

- a **client address** blocked (by its keyed pseudonym, never in clear): no login from it;
- an **account** locked pending review: no login, its sessions revoked, its API tokens void;
- an **API token** suspended: requests with it are anonymous.

Each block ends at `until` or when an admin lifts it with a reason; placing and lifting write
`security.block_placed` / `security.block_lifted` events. Authorization refusals
(`policy.Refused`) are recorded as `auth.refused` by the error handler in their own unit of
work (the refused request's transaction is rolled back; the refusal must survive).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from math import ceil
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.identity.models import Account, SecurityBlock
from tongban.identity.policy import Actor, Refused
from tongban.identity.throttle import pseudonym
from tongban.platform.config import Settings
from tongban.platform.db import Database, uow, utcnow
from tongban.platform.errors import Conflict, Invalid, NotFound

CLIENT_ADDRESS = "client_address"
ACCOUNT = "account"
TOKEN = "token"
KINDS = (CLIENT_ADDRESS, ACCOUNT, TOKEN)
# A block without an end answers logins with this Retry-After (seconds).
_OPEN_ENDED_RETRY = 3600
# Every request of a signed-in caller asks whether its address is blocked; the answer comes
# from the node's active address blocks, read again at most this often per process (seconds).
# Blocks placed or lifted in this process take effect at once (the cache is dropped after
# the commit); another process's within this time.
BLOCKED_ADDRESSES_TTL = 5.0
# node (data directory) -> (read at, monotonic; {address pseudonym: until, epoch s or inf})
_blocked_cache: dict[str, tuple[float, dict[str, float]]] = {}


# Pseudonyms of the addresses seen, per process (cleared whole when full).
_MAX_KEYS = 20_000
_keys: dict[tuple[str, str], str] = {}


def client_key(settings: Settings, client_ip: str) -> str:
    """The keyed pseudonym of a client address, as login events carry it (`client_key`);
    cached per process, because every signed-in request asks for it (the derivation resolves
    the node's key path and costs two HMACs)."""
    cache_key = (str(settings.data_dir), client_ip)
    found = _keys.get(cache_key)
    if found is None:
        if len(_keys) >= _MAX_KEYS:
            _keys.clear()
        found = _keys[cache_key] = pseudonym(settings, "client", client_ip)
    return found


@dataclass(frozen=True, slots=True)
class BlockView:
    """One block: what it stops, why, since and until when, and whether it was lifted."""

    id: int
    kind: str
    key: str
    reason: str
    alert_id: int | None
    created_at: datetime
    until: datetime | None
    lifted_at: datetime | None
    lifted_by: int | None

    @classmethod
    def of(cls, row: SecurityBlock) -> BlockView:
        """The view of a row."""
        return cls(
            id=row.id,
            kind=row.kind,
            key=row.key,
            reason=row.reason,
            alert_id=row.alert_id,
            created_at=row.created_at,
            until=row.until,
            lifted_at=row.lifted_at,
            lifted_by=row.lifted_by,
        )

    def active(self, now: datetime) -> bool:
        """True while the block stops what it names."""
        return self.lifted_at is None and (self.until is None or self.until > now)


def _active(session: Session, pairs: list[tuple[str, str]], now: datetime) -> BlockView | None:
    if not pairs:
        return None
    rows = session.scalars(
        select(SecurityBlock).where(
            SecurityBlock.kind.in_({kind for kind, _ in pairs}),
            SecurityBlock.key.in_({key for _, key in pairs}),
            SecurityBlock.lifted_at.is_(None),
        )
    )
    wanted = set(pairs)
    for row in rows:
        view = BlockView.of(row)
        if (view.kind, view.key) in wanted and view.active(now):
            return view
    return None


def retry_after(block: BlockView, now: datetime) -> int:
    """Seconds until the block ends (an hour when it has no end: it waits for a review)."""
    if block.until is None:
        return _OPEN_ENDED_RETRY
    return max(1, ceil((block.until - now).total_seconds()))


def address_blocked(
    session: Session, *, settings: Settings, client_ip: str, now: datetime
) -> BlockView | None:
    """The active block of this client address, or None."""
    return _active(session, [(CLIENT_ADDRESS, client_key(settings, client_ip))], now)


def _blocked_addresses(session: Session, settings: Settings) -> dict[str, float]:
    """The node's active address blocks: pseudonym -> end (cached)."""
    node = str(settings.data_dir)
    cached = _blocked_cache.get(node)
    clock = time.monotonic()
    if cached is not None and clock - cached[0] < BLOCKED_ADDRESSES_TTL:
        return cached[1]
    now = utcnow()
    found: dict[str, float] = {}
    rows = session.execute(
        select(SecurityBlock.key, SecurityBlock.until).where(
            SecurityBlock.kind == CLIENT_ADDRESS, SecurityBlock.lifted_at.is_(None)
        )
    )
    for key, until in rows:
        if until is None or until > now:
            end = float("inf") if until is None else until.timestamp()
            found[key] = max(found.get(key, 0.0), end)
    _blocked_cache[node] = (clock, found)
    return found


def forget_blocked_addresses() -> None:
    """Drop the cache of address blocks (after a block is placed or lifted here)."""
    _blocked_cache.clear()


def address_stopped(session: Session, *, settings: Settings, client_ip: str, now: datetime) -> bool:
    """True when the address is blocked now: a signed-in caller from it is refused, not only
    new logins. Cheap: a cached dictionary, read again every few seconds; the address's
    pseudonym is only computed while some address is blocked."""
    blocked = _blocked_addresses(session, settings)
    if not blocked:
        return False
    end = blocked.get(client_key(settings, client_ip))
    return end is not None and end > now.timestamp()


def account_blocked(session: Session, *, account_id: int, now: datetime) -> BlockView | None:
    """The active lock of this account, or None."""
    return _active(session, [(ACCOUNT, str(account_id))], now)


def token_blocked(
    session: Session, *, token_id: int, account_id: int, now: datetime
) -> BlockView | None:
    """The active suspension of this API token or lock of its account, or None."""
    return _active(session, [(TOKEN, str(token_id)), (ACCOUNT, str(account_id))], now)


def place_block(
    session: Session,
    *,
    kind: str,
    key: str,
    reason: str,
    until: datetime | None = None,
    alert_id: int | None = None,
    actor_id: int | None = None,
    actor_role: str | None = None,
    channel: str = "system",
) -> BlockView:
    """Place a block (`security.block_placed`); locking an account pending review (no `until`)
    also revokes its sessions. An active block of the same thing is returned as it is."""
    if kind not in KINDS:
        raise Invalid(f"Unknown block kind {kind!r}.")
    now = utcnow()
    existing = _active(session, [(kind, key)], now)
    if existing is not None:
        return existing
    if kind == ACCOUNT and session.get(Account, int(key)) is None:
        raise NotFound("No such account.")
    row = SecurityBlock(
        kind=kind, key=key, reason=reason[:64], alert_id=alert_id, created_at=now, until=until
    )
    session.add(row)
    session.flush()
    if kind == CLIENT_ADDRESS:
        uow.after_commit(session, forget_blocked_addresses)
    data: dict[str, Any] = {"kind": kind, "cause": reason[:64], "alert_id": alert_id}
    if until is not None:
        data["until"] = until.isoformat()
    events.record(
        session,
        action="security.block_placed",
        resource_type="security_block",
        resource_id=str(row.id),
        channel=channel,
        actor_id=actor_id,
        actor_role=actor_role,
        data=data,
        private={"key": key},
    )
    if kind == ACCOUNT and until is None:
        # Late: login_sessions -> authentication -> blocks (logins check the blocks).
        from tongban.identity.login_sessions import revoke_all_sessions

        revoke_all_sessions(
            session,
            account_id=int(key),
            reason="guard_lock",
            actor_id=actor_id,
            actor_role=actor_role,
            channel=channel,
        )
    return BlockView.of(row)


def lift_block(session: Session, *, block_id: int, actor: Actor, reason: str) -> BlockView:
    """An admin lifts a block with a reason (`security.block_lifted`); Conflict when it was
    lifted already."""
    row = session.get(SecurityBlock, block_id)
    if row is None:
        raise NotFound("No such block.")
    if row.lifted_at is not None:
        raise Conflict("This block was lifted already.")
    if not reason.strip():
        raise Invalid("Give the reason for lifting the block.")
    row.lifted_at = utcnow()
    row.lifted_by = actor.account_id
    session.flush()
    if row.kind == CLIENT_ADDRESS:
        uow.after_commit(session, forget_blocked_addresses)
    events.record(
        session,
        action="security.block_lifted",
        resource_type="security_block",
        resource_id=str(row.id),
        channel="online",
        actor_id=actor.account_id,
        actor_role=actor.role,
        reason=reason.strip()[:500],
        data={"kind": row.kind, "alert_id": row.alert_id},
    )
    return BlockView.of(row)


def get_block(session: Session, *, block_id: int) -> BlockView:
    """The block with this id (NotFound when absent)."""
    row = session.get(SecurityBlock, block_id)
    if row is None:
        raise NotFound("No such block.")
    return BlockView.of(row)


def list_blocks(session: Session, *, active_only: bool = True, limit: int = 200) -> list[BlockView]:
    """The latest blocks (only those still in force by default), newest first."""
    now = utcnow()
    stmt = select(SecurityBlock).order_by(SecurityBlock.id.desc()).limit(limit)
    if active_only:
        stmt = stmt.where(SecurityBlock.lifted_at.is_(None))
    views = [BlockView.of(row) for row in session.scalars(stmt)]
    return [v for v in views if v.active(now)] if active_only else views


def record_refusal(
    database: Database,
    error: Refused,
    *,
    settings: Settings,
    client_ip: str,
    method: str,
    user_agent: str | None = None,
    hidden: bool = False,
) -> None:
    """Record a refused authorization (`auth.refused`) in a unit of work of its own: the
    refused request's own transaction is rolled back, its refusal is not. `hidden`: the
    route answered 404 (the resource is not shown to those who may not see it)."""
    actor = error.actor
    data: dict[str, Any] = {"action": error.action, "why": error.why, "method": method[:8]}
    if hidden:
        data["hidden"] = True
    if error.region_code:
        data["region"] = error.region_code[:12]
    if actor.token_id is not None:
        data["token_id"] = actor.token_id
    with uow.unit(database) as session:
        events.record(
            session,
            action="auth.refused",
            resource_type="authorization",
            resource_id=error.action[:64],
            channel="api" if actor.token_id is not None else "online",
            actor_id=actor.account_id,
            actor_role=str(actor.role),
            service_point=actor.service_point,
            data=data,
            private={
                "client_key": client_key(settings, client_ip),
                "agent_key": pseudonym(settings, "agent", user_agent or ""),
                "jurisdiction": actor.region_root,
            },
        )
