"""Suspend, revoke, reinstate; the status lists as signed `statuslist+jwt` tokens.

A department's officials change the status of the licences their department issued (with a
reason, as an event). Revocation is final. A status list token is signed with the department's
active key and cached in the process by (list, version): a status change bumps the version.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
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

_tokens: dict[tuple[str, int, int], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


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
    listing = session.get(StatusListRow, row.list_id)
    assert listing is not None
    listing.version += 1
    listing.updated_at = row.updated_at
    session.flush()
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


def list_token(session: Session, *, list_id: int, settings: Settings) -> str:
    """The signed status list (`statuslist+jwt`), from the cache while its version stands."""
    listing = session.get(StatusListRow, list_id)
    if listing is None:
        raise NotFound(f"No status list {list_id}.")
    cache_key = (str(settings.data_dir), list_id, listing.version)
    now = time.time()
    with _tokens_lock:
        hit = _tokens.get(cache_key)
        if hit is not None and hit[1] > now:
            return hit[0]
    entries = session.execute(
        select(Credential.list_index, Credential.status).where(
            Credential.list_id == list_id, Credential.status != "valid"
        )
    ).all()
    compressed = statuslist.encode(
        listing.size, ((index, statuslist.STATUS_VALUES[status]) for index, status in entries)
    )
    department = identity.get_department(session, department_id=listing.department_id)
    kid, key = keys.active_key(session, department=department, settings=settings)
    token = statuslist.make_token(
        key=key,
        kid=kid,
        uri=status_list_uri(settings, list_id),
        compressed=compressed,
        ttl=TTL,
    )
    with _tokens_lock:
        if len(_tokens) > 256:
            _tokens.clear()
        _tokens[cache_key] = (token, now + TTL)
    return token


def all_list_ids(session: Session) -> list[int]:
    """Every status list of this node."""
    return list(session.scalars(select(StatusListRow.id).order_by(StatusListRow.id)))
