"""Recording events: every state change calls `record` inside its own transaction."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.db import utcnow
from tongban.events.models import Event
from tongban.unit_of_work import insert_now


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


def new_event(
    *,
    action: str,
    resource_type: str,
    resource_id: str,
    channel: Channel | str,
    actor_id: int | None = None,
    actor_role: str | None = None,
    on_behalf_of_id: int | None = None,
    service_point: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
) -> Event:
    """An event ready to store (its personal part committed to with a fresh salt)."""
    salt = secrets.token_hex(16) if personal is not None else None
    return Event(
        uid=str(uuid.uuid4()),
        occurred_at=utcnow(),
        actor_id=actor_id,
        actor_role=actor_role,
        on_behalf_of_id=on_behalf_of_id,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id),
        channel=str(channel),
        service_point=service_point,
        reason=reason,
        data=data or {},
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


def record(
    session: Session,
    *,
    action: str,
    resource_type: str,
    resource_id: str,
    channel: Channel | str,
    actor_id: int | None = None,
    actor_role: str | None = None,
    on_behalf_of_id: int | None = None,
    service_point: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
) -> Event:
    """Append one event in the caller's transaction and return it, stored (with its id)."""
    event = new_event(
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        channel=channel,
        actor_id=actor_id,
        actor_role=actor_role,
        on_behalf_of_id=on_behalf_of_id,
        service_point=service_point,
        reason=reason,
        data=data,
        personal=personal,
    )
    return store(session, event)


def for_resource(session: Session, *, resource_type: str, resource_id: str) -> Sequence[Event]:
    """The timeline of one resource, oldest first."""
    stmt = (
        select(Event)
        .where(Event.resource_type == resource_type, Event.resource_id == str(resource_id))
        .order_by(Event.id)
    )
    return session.scalars(stmt).all()
