"""Recording events: every state change calls `record` inside its own transaction.

Other domains get events as `EventView`s, never as rows; the ledger, which sequences the whole
log, reads the table itself (`events_table`).

An event has a public side and a committed side (docs/ledger.md). Public, in the ledger leaf:
the action, the resource (unless it is a person: `PERSON_RESOURCES`), the actor's role, the
channel, the service point and `data`, which may carry only codes, ids that reveal nothing,
dates, states and counts. Committed to, kept beside the event: the actor and on whose behalf,
the `reason`, the `personal` part (data about a person) and the `private` part (any other text
written by people, and who relates to whom). One salted SHA-256 commitment covers the committed
side; revealing it with its salt (`disclosure`) proves the text to whoever may see it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Sequence
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


# The format of the events written now: 2 since the leaf carries no personal data (events
# written before have format None, "1": their leaves showed everything but `personal`).
EVENT_FORMAT = 2
# Resource types whose id is a person's (an account): the leaf leaves the id out.
PERSON_RESOURCES = frozenset({"account"})


def commitment(value: Any, salt: str) -> str:
    """The salted SHA-256 commitment to a JSON value (hex): SHA-256(salt bytes || the value as
    compact, key-sorted UTF-8 JSON)."""
    canonical = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(bytes.fromhex(salt) + canonical.encode("utf-8")).hexdigest()


def committed_part(
    *,
    actor_id: int | None,
    on_behalf_of_id: int | None,
    resource_id: str,
    reason: str | None,
    personal: dict[str, Any] | None,
    private: dict[str, Any] | None,
) -> dict[str, Any]:
    """What a format-2 event's salted commitment covers: what its leaf leaves out (who acted,
    on whose behalf, the reason, the personal and private parts) and its resource id."""
    return {
        "actor_id": actor_id,
        "on_behalf_of_id": on_behalf_of_id,
        "personal": personal,
        "private": private,
        "reason": reason,
        "resource_id": resource_id,
    }


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
    # Text written by people (a refusal reason, a purpose) or a reason code: never public.
    reason: str | None
    # Public: codes, ids that reveal nothing, dates, states and counts; never text or names.
    data: dict[str, Any] | None
    # Data about a person (an applicant's name and ID number, a username): never public.
    personal: dict[str, Any] | None
    # Other text written by people (notes, comments, lists of what is missing, file names)
    # and who relates to whom (a proxy's principal and agent): never public.
    private: dict[str, Any] | None


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
    private: dict[str, Any] | None
    # The salted commitment to the committed part (public: it reveals nothing).
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
            private=row.private,
            personal_commitment=row.personal_commitment,
        )


def new_event(**fields: Unpack[EventFields]) -> Event:
    """An event ready to store (its committed part committed to with a fresh salt)."""
    actor_id = fields.get("actor_id")
    on_behalf_of_id = fields.get("on_behalf_of_id")
    resource_id = str(fields["resource_id"])
    reason = fields.get("reason")
    personal = fields.get("personal")
    private = fields.get("private") or None
    salt = secrets.token_hex(16)
    committed = committed_part(
        actor_id=actor_id,
        on_behalf_of_id=on_behalf_of_id,
        resource_id=resource_id,
        reason=reason,
        personal=personal,
        private=private,
    )
    return new_row(
        Event,
        uid=str(uuid.uuid4()),
        occurred_at=utcnow(),
        actor_id=actor_id,
        actor_role=fields.get("actor_role"),
        on_behalf_of_id=on_behalf_of_id,
        action=fields["action"],
        resource_type=fields["resource_type"],
        resource_id=resource_id,
        channel=str(fields["channel"]),
        service_point=fields.get("service_point"),
        reason=reason,
        data=fields.get("data") or {},
        personal=personal,
        private=private,
        personal_salt=salt,
        personal_commitment=commitment(committed, salt),
        format=EVENT_FORMAT,
    )


def store(session: Session, event: Event) -> Event:
    """Append a new event in the caller's transaction, after what the caller changed."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    insert_now(session, event)
    return event


# Run in the caller's transaction after each event `record` or `insert_with_events` stored,
# with (session, the stored event): the shell registers the data tracker (consent sits above
# events), which writes a line for each use of a person's data. A hook records no event.
AfterStore = Callable[[Session, EventView], None]
_after_store: list[AfterStore] = []


def on_stored(hook: AfterStore) -> None:
    """Register work to do in the same transaction after each event is stored."""
    if hook not in _after_store:
        _after_store.append(hook)


def record(session: Session, **fields: Unpack[EventFields]) -> EventView:
    """Append one event in the caller's transaction; the stored event (with its id)."""
    view = EventView.of(store(session, new_event(**fields)))
    for hook in _after_store:
        hook(session, view)
    return view


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
    views = [EventView.of(event) for event in made]
    for hook in _after_store:
        for view in views:
            hook(session, view)
    return views


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


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What opens an event's commitment: the salt and the committed part, for whoever may
    see them (the ledger checks them against the leaf: `ledger.service.verify_disclosure`)."""

    uid: str
    format: int
    salt: str
    committed: Any


def disclosure(session: Session, *, event_uid: str) -> Disclosure | None:
    """The opening of one event's commitment, or None (no such event, or nothing committed).

    Only for callers that have decided the reader may see the event's private side (the
    applicant of a case, the actor, an auditor with a warrant): it holds personal data.
    """
    row = session.scalars(select(Event).where(Event.uid == event_uid)).first()
    if row is None or row.personal_salt is None:
        return None
    if row.format is None:  # format 1: the commitment covered the personal part alone
        return Disclosure(uid=row.uid, format=1, salt=row.personal_salt, committed=row.personal)
    committed = committed_part(
        actor_id=row.actor_id,
        on_behalf_of_id=row.on_behalf_of_id,
        resource_id=row.resource_id,
        reason=row.reason,
        personal=row.personal,
        private=row.private,
    )
    return Disclosure(uid=row.uid, format=row.format, salt=row.personal_salt, committed=committed)


def events_table() -> Table:
    """The events table, for the ledger's bulk reads of the whole log (read only)."""
    table: Table = Event.__table__  # type: ignore[assignment]
    return table


__all__ = [
    "EVENT_FORMAT",
    "PERSON_RESOURCES",
    "Channel",
    "Disclosure",
    "EventFields",
    "EventView",
    "commitment",
    "committed_part",
    "disclosure",
    "events_table",
    "for_resource",
    "insert_with_events",
    "on_stored",
    "personal_of_first",
    "record",
]
