"""Recording events: every state change calls `record` inside its own transaction."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.events.models import Event
from tongban.platform.db import utcnow
from tongban.platform.db.fastpath.rows import insert_now, new_row


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


def record(session: Session, **fields: Unpack[EventFields]) -> Event:
    """Append one event in the caller's transaction and return it, stored (with its id)."""
    return store(session, new_event(**fields))


def for_resource(session: Session, *, resource_type: str, resource_id: str) -> Sequence[Event]:
    """The timeline of one resource, oldest first."""
    stmt = (
        select(Event)
        .where(Event.resource_type == resource_type, Event.resource_id == str(resource_id))
        .order_by(Event.id)
    )
    return session.scalars(stmt).all()
