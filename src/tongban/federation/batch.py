"""Applying a batch of fetched messages in one unit of work, with the rows and events that
applying them one by one would leave, in the same order.

One by one, each message in a savepoint, a transfer cost a flush for its case, another for
its inbox row and link, and look-ups of the inbox, the case number and each material's
upload: the receiving node applied ~90 transfers a second (docs/benchmarks.md). Here a run of
consecutive transfers is checked first — signatures, then the inbox and the case numbers in
one query each — without writing; what passes is stored together (the cases with their
materials, then the inbox rows and links, one INSERT per table), and the events follow in
the messages' order, a refusal's among them. When storing fails (a record the database will
not take), nothing of the run stays and it is applied one by one, so that one bad message
costs only itself. Any other kind of message is applied alone, in its place in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.events import service as events
from tongban.federation import inbound, messages, routing
from tongban.federation.models import Incoming, Link
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import AppError

TRANSFER = "case.transfer"
# What storing a run may fail with because of a record (not the database going away).
_BAD_RECORD = (AppError, ValueError, KeyError, TypeError, IntegrityError, DataError)


def one(
    session: Session, *, data: bytes, settings: Settings, me: str, offers: dict[str, Any]
) -> inbound.Outcome | None:
    """Apply one message in a savepoint; a refusal (or a record the database refuses)
    rolls back alone and is recorded: None in its place."""
    try:
        with session.begin_nested():
            return inbound.apply(session, data=data, settings=settings, me=me, offers=offers)
    except messages.Refused as refused:
        inbound.refuse(session, data=data, refused=refused)
    except (IntegrityError, DataError) as exc:
        rejected = messages.Refused("malformed", f"the database refused it: {type(exc).__name__}")
        inbound.refuse(session, data=data, refused=rejected)
    return None


def one_by_one(
    session: Session, *, batch: list[bytes], settings: Settings, me: str
) -> list[inbound.Outcome | None]:
    """Each message alone, in a savepoint (the path a run falls back to)."""
    offers: dict[str, Any] = {}
    return [one(session, data=d, settings=settings, me=me, offers=offers) for d in batch]


@dataclass
class _Step:
    """What one message of a run comes to: refused, a duplicate, applied as known (a case
    this node holds: an inbox row only) or new (the case, its link, inbox row and event)."""

    data: bytes
    refused: messages.Refused | None = None
    outcome: inbound.Outcome | None = None
    sender: str = ""
    record: dict[str, Any] | None = None
    offer: Any = None
    blobs: dict[str, bytes] | None = None


def apply_batch(
    session: Session, *, batch: list[bytes], settings: Settings, me: str
) -> list[inbound.Outcome | None]:
    """Apply a fetched batch in the caller's unit of work (see the module)."""
    routes = routing.current(session, settings=settings)
    offers: dict[str, Any] = {}
    outcomes: list[inbound.Outcome | None] = []
    run: list[tuple[bytes, Any]] = []
    for data in batch:
        try:
            opened: Any = inbound.opened(data, routes=routes, me=me)
        except messages.Refused as refused:
            opened = refused
        if isinstance(opened, messages.Refused) or opened[1] == TRANSFER:
            run.append((data, opened))
            continue
        outcomes += _run(session, run, routes=routes, settings=settings, me=me, offers=offers)
        run = []
        outcomes.append(one(session, data=data, settings=settings, me=me, offers=offers))
    outcomes += _run(session, run, routes=routes, settings=settings, me=me, offers=offers)
    return outcomes


def _plan(
    session: Session,
    run: list[tuple[bytes, Any]],
    *,
    routes: list[routing.Route],
    me: str,
    offers: dict[str, Any],
) -> list[_Step]:
    """Decide each message of a run, in order, writing nothing."""
    ids = [o[0] for _, o in run if not isinstance(o, messages.Refused)]
    numbers = [str(o[4]["number"]) for _, o in run if not isinstance(o, messages.Refused)]
    applied = set(session.scalars(select(Incoming.message_id).where(Incoming.message_id.in_(ids))))
    held = cases.existing_numbers(session, numbers=numbers)
    steps = []
    for data, opened in run:
        step = _Step(data)
        steps.append(step)
        if isinstance(opened, messages.Refused):
            step.refused = opened
            continue
        message_id, kind, sender, body, record, number = opened
        if message_id in applied:
            step.outcome = inbound.Outcome(message_id, kind, number, "duplicate")
            continue
        try:
            inbound.check_transfer(record=record, sender=sender, routes=routes, me=me)
            if str(record["number"]) not in held:
                step.offer = inbound.offer_for(session, record=record, offers=offers)
                try:
                    step.blobs = inbound.decoded_blobs(body)
                except (ValueError, TypeError) as exc:
                    raise messages.Refused("malformed", str(exc)[:200]) from None
                step.record = record
                held.add(str(record["number"]))
        except messages.Refused as refused:
            step.refused = refused
            continue
        applied.add(message_id)
        step.sender = sender
        step.outcome = inbound.Outcome(message_id, kind, number, "applied")
    return steps


def _run(
    session: Session,
    run: list[tuple[bytes, Any]],
    *,
    routes: list[routing.Route],
    settings: Settings,
    me: str,
    offers: dict[str, Any],
) -> list[inbound.Outcome | None]:
    """Apply a run of transfers (and messages refused on opening) together."""
    if not run:
        return []
    steps = _plan(session, run, routes=routes, me=me, offers=offers)
    new = [s for s in steps if s.record is not None]
    if new:
        try:
            with session.begin_nested():
                cases.receive_cases(
                    session,
                    received=[(s.record, s.offer, s.blobs or {}) for s in new],  # type: ignore[misc]
                    settings=settings,
                )
        except _BAD_RECORD:
            # A record the cases domain or the database refuses: the run one by one.
            data = [d for d, _ in run]
            return [one(session, data=d, settings=settings, me=me, offers=offers) for d in data]
    now = utcnow()
    session.add_all(
        [
            Link(
                case_number=str(s.record["number"]),
                role="authority",
                peer_node=s.sender,
                remote_version=0,
                updated_at=now,
            )
            for s in new
            if s.record is not None
        ]
    )
    session.add_all(
        [
            Incoming(
                message_id=s.outcome.message_id,
                sender_node=s.sender,
                kind=s.outcome.kind,
                case_number=s.outcome.case_number,
                outcome="applied",
                received_at=now,
            )
            for s in steps
            if s.outcome is not None and s.outcome.outcome == "applied"
        ]
    )
    session.flush()
    for step in steps:
        if step.refused is not None:
            inbound.refuse(session, data=step.data, refused=step.refused)
        elif step.record is not None:
            events.record(
                session,
                **inbound.received_event(record=step.record, sender=step.sender, offer=step.offer),
            )
        if step.outcome is not None and step.outcome.outcome == "applied":
            inbound.APPLIED.labels(step.outcome.kind).inc()
    return [None if s.refused is not None else s.outcome for s in steps]
