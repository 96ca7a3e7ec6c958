"""Recording events: every state change calls `record` inside its own transaction.

Other domains get events as `EventView`s, never as rows; the ledger, which sequences the whole
log, reads the table itself (`events_table`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from tongban.events.models import Event
from tongban.platform.db import Base, utcnow
from tongban.platform.db.fastpath.rows import insert_now, insert_together, new_row


class Channel(StrEnum):
    """How the step reached us."""

    ONLINE = "online"
    ASSISTED = "assisted"
    PROXY = "proxy"
    API = "api"
    CLI = "cli"
    SYSTEM = "system"


def commitment(personal: dict[str, Any], salt: str) -> str:
    """The salted SHA-256 commitment to a personal-data payload (hex)."""
    canonical = json.dumps(personal, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(bytes.fromhex(salt) + canonical.encode("utf-8")).hexdigest()


class EventFields(TypedDict, total=False):
    """What a step says: who, on whose behalf, what, through which channel, and why."""

    action: Required[str]
    resource_type: Required[str]
    resource_id: Required[str]
    channel: Required[Channel | str]
    actor_id: int | None
    actor_role: str | None
    on_behalf_of_id: int | None
    service_point: str | None
    reason: str | None
    data: dict[str, Any] | None
    personal: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class EventView:
    """One stored event as other domains see it (its personal part stays behind)."""

    id: int
    uid: str
    occurred_at: datetime
    actor_id: int | None
    actor_role: str | None
    on_behalf_of_id: int | None
    action: str
    resource_type: str
    resource_id: str
    channel: str
    service_point: str | None
    reason: str | None
    data: dict[str, Any]
    # The salted commitment to the personal part (public: it reveals nothing).
    personal_commitment: str | None

    @classmethod
    def of(cls, row: Event) -> EventView:
        """The view of a stored row."""
        return cls(
            id=row.id,
            uid=row.uid,
            occurred_at=row.occurred_at,
            actor_id=row.actor_id,
            actor_role=row.actor_role,
            on_behalf_of_id=row.on_behalf_of_id,
            action=row.action,
            resource_type=row.resource_type,
            resource_id=row.resource_id,
            channel=row.channel,
            service_point=row.service_point,
            reason=row.reason,
            data=row.data,
            personal_commitment=row.personal_commitment,
        )


def new_event(**fields: Unpack[EventFields]) -> Event:
    """An event ready to store (its personal part committed to with a fresh salt)."""
    personal = fields.get("personal")
    salt = secrets.token_hex(16) if personal is not None else None
    return new_row(
        Event,
        uid=str(uuid.uuid4()),
        occurred_at=utcnow(),
        actor_id=fields.get("actor_id"),
        actor_role=fields.get("actor_role"),
        on_behalf_of_id=fields.get("on_behalf_of_id"),
        action=fields["action"],
        resource_type=fields["resource_type"],
        resource_id=str(fields["resource_id"]),
        channel=str(fields["channel"]),
        service_point=fields.get("service_point"),
        reason=fields.get("reason"),
        data=fields.get("data") or {},
        personal=personal,
        personal_salt=salt,
        personal_commitment=commitment(personal, salt) if personal is not None and salt else None,
    )


def store(session: Session, event: Event) -> Event:
    """Append a new event in the caller's transaction, after what the caller changed."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    insert_now(session, event)
    return event


def record(session: Session, **fields: Unpack[EventFields]) -> EventView:
    """Append one event in the caller's transaction; the stored event (with its id)."""
    return EventView.of(store(session, new_event(**fields)))


def insert_with_events(
    session: Session,
    row: Base,
    *,
    events: Sequence[EventFields],
    also: Sequence[Base] = (),
    unless_duplicate: Sequence[str] = (),
) -> list[EventView] | None:
    """Store a new `row` of the caller's, its events and `also` (rows of the caller's that do
    not refer to `row`) together: on PostgreSQL in one statement (fastpath.insert_together).

    The stored events, or None with nothing stored when `row` would duplicate a stored row
    by `unless_duplicate` (a retried submission).
    """
    made = [new_event(**fields) for fields in events]
    if not insert_together(session, row, [*made, *also], unless_duplicate=unless_duplicate):
        return None
    return [EventView.of(event) for event in made]


def for_resource(session: Session, *, resource_type: str, resource_id: str) -> list[EventView]:
    """The timeline of one resource, oldest first."""
    stmt = (
        select(Event)
        .where(Event.resource_type == resource_type, Event.resource_id == str(resource_id))
        .order_by(Event.id)
    )
    return [EventView.of(row) for row in session.scalars(stmt)]


def personal_of_first(
    session: Session, *, resource_type: str, resource_id: str, action: str
) -> dict[str, Any] | None:
    """The personal part kept beside the first `action` event of a resource (e.g. the
    applicant's details a counter submission carried), or None."""
    return session.scalars(
        select(Event.personal)
        .where(
            Event.resource_type == resource_type,
            Event.resource_id == str(resource_id),
            Event.action == action,
        )
        .order_by(Event.id)
        .limit(1)
    ).first()


def events_table() -> Table:
    """The events table, for the ledger's bulk reads of the whole log (read only)."""
    table: Table = Event.__table__  # type: ignore[assignment]
    return table


__all__ = [
    "Channel",
    "EventFields",
    "EventView",
    "commitment",
    "events_table",
    "for_resource",
    "insert_with_events",
    "personal_of_first",
    "record",
]
