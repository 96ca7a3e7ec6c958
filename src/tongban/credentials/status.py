"""Suspend, revoke, reinstate; the status lists as signed `statuslist+jwt` tokens.

A department's officials change the status of the licences their department issued (with a
reason, as an event). Revocation is final. A status list token is signed with the department's
active key and cached in the process by (list, version): a status change bumps the version.

Each process also keeps each list's bit array, checked per request against the list's
version and `updated_at` in the database. A status change committed by this process updates
its array in place (after the commit; nothing on a rollback), so the next fetch only
compresses and signs; a change by another process (a version this one did not make) makes
the next fetch rebuild the array from the database.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tongban.credentials import keys, statuslist
from tongban.credentials.issuing import status_list_uri
from tongban.credentials.models import Credential, StatusListRow
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.service import Actor
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, FieldError, Forbidden, Invalid, NotFound

# action -> (the status it sets, the statuses it may start from)
MOVES: dict[str, tuple[str, frozenset[str]]] = {
    "suspend": ("suspended", frozenset({"valid"})),
    "revoke": ("revoked", frozenset({"valid", "suspended"})),
    "reinstate": ("valid", frozenset({"suspended"})),
}
# Seconds a verifier may keep a status list before fetching it again (the token's `ttl`).
TTL = 300


@dataclass
class _Cached:
    """A list's bit array as of (version, updated_at), and its signed token while fresh."""

    version: int
    stamp: datetime
    array: bytearray
    token: str | None = None
    token_until: float = 0.0


# (database, list id) -> the list as this process last knew it.
_lists: dict[tuple[str, int], _Cached] = {}
_lists_lock = threading.Lock()
# How many times a list's array was rebuilt from the database (what the tests watch).
rebuilds = 0
_PENDING = "credentials.status_pending"


def _database(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def _after_commit(session: Session) -> None:
    """Apply this transaction's status changes to the process's arrays."""
    pending: list[tuple[Any, ...]] = session.info.pop(_PENDING, [])
    with _lists_lock:
        for key, old_version, old_stamp, new_version, new_stamp, index, value in pending:
            cached = _lists.get(key)
            if cached is None:
                continue
            if cached.version != old_version or cached.stamp != old_stamp:
                del _lists[key]  # not the state this change started from: rebuild
                continue
            statuslist.put(cached.array, index, value)
            cached.version, cached.stamp = new_version, new_stamp
            cached.token, cached.token_until = None, 0.0


def _after_rollback(session: Session, previous_transaction: Any) -> None:
    """A rolled back change never reaches the arrays; the lists it touched are rebuilt."""
    pending: list[tuple[Any, ...]] = session.info.pop(_PENDING, [])
    with _lists_lock:
        for key, *_ in pending:
            _lists.pop(key, None)


def _note(session: Session, change: tuple[Any, ...]) -> None:
    if not session.info.get(_PENDING + ".hooked"):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_rollback)
        session.info[_PENDING + ".hooked"] = True
    session.info.setdefault(_PENDING, []).append(change)


@dataclass(frozen=True)
class StatusChange:
    """A credential's new status."""

    licence_id: str
    status: str


def change_status(
    session: Session, *, actor: Actor, credential_id: int, action: str, reason: str
) -> StatusChange:
    """Suspend, revoke or reinstate a licence of the actor's department, with a reason."""
    move = MOVES.get(action)
    if move is None:
        raise NotFound(f"Unknown action {action!r}; one of: " + ", ".join(MOVES) + ".")
    identity.authorize(actor, "credentials.status")
    row = session.get(Credential, credential_id)
    if row is None or row.licence_id is None:
        raise NotFound(f"No licence {credential_id}.")
    try:
        identity.authorize(actor, "credentials.status", {"department_id": row.department_id})
    except Forbidden:
        raise NotFound(f"No licence {credential_id}.") from None
    reason = reason.strip()
    if not 2 <= len(reason) <= 500:
        raise Invalid(
            "Give the reason (2 to 500 characters).",
            errors=[FieldError("reason", "2 to 500 characters")],
        )
    target, sources = move
    if row.status not in sources:
        raise Conflict(f"Cannot {action} a licence that is {row.status}.")
    before = row.status
    row.status = target
    row.updated_at = utcnow()
    # Locked, and read afresh: the version counts every change exactly once across processes.
    listing = session.get(StatusListRow, row.list_id, with_for_update=True, populate_existing=True)
    assert listing is not None
    old_version, old_stamp = listing.version, listing.updated_at
    listing.version = old_version + 1
    listing.updated_at = row.updated_at
    session.flush()
    _note(
        session,
        (
            (_database(session), listing.id),
            old_version,
            old_stamp,
            listing.version,
            listing.updated_at,
            row.list_index,
            statuslist.STATUS_VALUES[target],
        ),
    )
    events.record(
        session,
        action=f"credential.{'reinstated' if action == 'reinstate' else target}",
        resource_type="credential",
        resource_id=row.licence_id,
        channel=Channel.API if actor.token_id else Channel.ONLINE,
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        reason=reason,
        data={
            "v": 1,
            "type_code": row.type_code,
            "issuer_code": row.department_code,
            "from": before,
            "to": target,
            "list_id": row.list_id,
            "idx": row.list_index,
        },
    )
    return StatusChange(licence_id=row.licence_id, status=target)


def _rebuild(session: Session, listing: StatusListRow) -> bytearray:
    global rebuilds
    rebuilds += 1
    entries = session.execute(
        select(Credential.list_index, Credential.status).where(
            Credential.list_id == listing.id, Credential.status != "valid"
        )
    ).all()
    return statuslist.build_array(
        listing.size, ((index, statuslist.STATUS_VALUES[status]) for index, status in entries)
    )


def list_token(session: Session, *, list_id: int, settings: Settings) -> str:
    """The signed status list (`statuslist+jwt`): the process's array for the list's current
    version (rebuilt from the database when another process changed it), its token cached."""
    listing = session.get(StatusListRow, list_id)
    if listing is None:
        raise NotFound(f"No status list {list_id}.")
    key = (_database(session), list_id)
    now = time.time()
    with _lists_lock:
        cached = _lists.get(key)
        if cached is not None and (cached.version, cached.stamp) != (
            listing.version,
            listing.updated_at,
        ):
            cached = None
        if cached is not None and cached.token is not None and cached.token_until > now:
            return cached.token
        array = bytes(cached.array) if cached is not None else None
    if array is None:
        fresh = _rebuild(session, listing)
        array = bytes(fresh)
        with _lists_lock:
            cached = _Cached(version=listing.version, stamp=listing.updated_at, array=fresh)
            if len(_lists) > 256:
                _lists.clear()
            _lists[key] = cached
    department = identity.get_department(session, department_id=listing.department_id)
    kid, signing_key = keys.active_key(session, department=department, settings=settings)
    token = statuslist.make_token(
        key=signing_key,
        kid=kid,
        uri=status_list_uri(settings, list_id),
        compressed=statuslist.compress(array),
        ttl=TTL,
    )
    assert cached is not None
    with _lists_lock:
        if (cached.version, cached.stamp) == (listing.version, listing.updated_at):
            cached.token, cached.token_until = token, now + TTL
    return token


def rebuilt_array(session: Session, *, list_id: int) -> bytes:
    """The list's bit array as the database has it now (what the process's copy must equal)."""
    listing = session.get(StatusListRow, list_id)
    if listing is None:
        raise NotFound(f"No status list {list_id}.")
    return bytes(_rebuild(session, listing))


def cached_array(session: Session, *, list_id: int) -> bytes | None:
    """The process's copy of the list's bit array, if it has one for the current version."""
    listing = session.get(StatusListRow, list_id)
    with _lists_lock:
        cached = _lists.get((_database(session), list_id))
        if listing is None or cached is None:
            return None
        if (cached.version, cached.stamp) != (listing.version, listing.updated_at):
            return None
        return bytes(cached.array)


def all_list_ids(session: Session) -> list[int]:
    """Every status list of this node."""
    return list(session.scalars(select(StatusListRow.id).order_by(StatusListRow.id)))
