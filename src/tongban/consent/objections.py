"""Objections (异议) to a use of one's data: filed from a tracker line, answered by a steward.

The citizen's words and the steward's answer are private (beside the events, never in the
ledger leaf). The answer is due within `objection_reply_working_days` working days (the
official calendar); an objection still open after its due date is overdue and shown to the
operator. The answer comes back to the citizen as a message and on the tracker line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.consent import tracker
from tongban.consent.tracker_models import DataUse, Objection
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.service import Actor
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from tongban.workdays import service as workdays

TEXT_MIN, TEXT_MAX = 2, 500


def today() -> date:
    """Today's date in Asia/Shanghai (due dates count local working days)."""
    return cases.local_date(utcnow())


def is_overdue(row: Objection, *, day: date | None = None) -> bool:
    """True when the objection still waits for its answer after its due date."""
    return row.answered_at is None and (day or today()) > row.due_date


def states_of(session: Session, *, use_ids: list[int]) -> dict[int, tracker.ObjectionState]:
    """The latest objection of each of these lines, as the lines show it."""
    if not use_ids:
        return {}
    day = today()
    found: dict[int, tracker.ObjectionState] = {}
    for row in session.scalars(
        select(Objection).where(Objection.data_use_id.in_(use_ids)).order_by(Objection.id)
    ):
        found[row.data_use_id] = tracker.ObjectionState(
            id=row.id,
            filed_at=row.filed_at,
            due_date=row.due_date,
            answer=row.answer,
            answered_at=row.answered_at,
            overdue=is_overdue(row, day=day),
        )
    return found


def _text(value: str, field: str) -> str:
    value = value.strip()
    if not TEXT_MIN <= len(value) <= TEXT_MAX:
        message = f"Write {TEXT_MIN} to {TEXT_MAX} characters."
        raise Invalid(message, errors=[FieldError(field, message)])
    return value


def _channel(actor: Actor) -> Channel:
    return Channel.API if actor.token_id else Channel.ONLINE


def file_objection(
    session: Session, *, actor: Actor, use_id: int, text: str, settings: Settings
) -> Objection:
    """The subject objects to one line of their tracker; due in working days; recorded."""
    identity.authorize(actor, "data_usage.object")
    line: DataUse | None = tracker.line_row(session, use_id=use_id)
    if line is None or line.subject_id != actor.account_id:
        raise NotFound("No such line in your data-usage record.")
    words = _text(text, "text")
    pending = session.scalar(
        select(Objection.id).where(
            Objection.data_use_id == line.id, Objection.answered_at.is_(None)
        )
    )
    if pending is not None:
        raise Conflict("You have already objected to this use; the answer is on its way.")
    department = None
    if line.department_code:
        try:
            department = identity.get_department_by_code(session, code=line.department_code)
        except NotFound:
            department = None
    due = workdays.load_calendar(session).add_working_days(
        today(), settings.objection_reply_working_days
    )
    row = Objection(
        data_use_id=line.id,
        subject_id=line.subject_id,
        filed_by_id=actor.account_id,
        department_code=line.department_code,
        department_id=department.id if department else None,
        region_code=department.region_code if department else None,
        text=words,
        filed_at=utcnow(),
        due_date=due,
    )
    session.add(row)
    session.flush()
    events.record(
        session,
        action="data_usage.objected",
        resource_type="data_use_objection",
        resource_id=str(row.id),
        channel=_channel(actor),
        actor_id=actor.account_id,
        actor_role=str(actor.role),
        data={
            "department": line.department_code,
            "use": line.event_uid,
            "due_date": due.isoformat(),
        },
        private={"text": words},
    )
    return row


def get_objection(session: Session, *, objection_id: int) -> Objection:
    """The objection with this id, or NotFound."""
    row = session.get(Objection, objection_id)
    if row is None:
        raise NotFound("No such objection.")
    return row


def _scope(row: Objection) -> dict[str, Any]:
    return {"region_code": row.region_code, "department_id": row.department_id}


def answer_objection(
    session: Session, *, actor: Actor, objection_id: int, answer: str
) -> Objection:
    """The department's steward answers; the citizen gets the answer as a message."""
    row = get_objection(session, objection_id=objection_id)
    identity.authorize(actor, "data_usage.objection.answer")  # the role: 403
    try:  # another jurisdiction's is not shown; its refusal is kept (auth.refused, hidden)
        identity.authorize(actor, "data_usage.objection.answer", _scope(row))
    except Forbidden:
        raise NotFound("No such objection.") from None
    if row.answered_at is not None:
        raise Conflict("This objection has been answered already.")
    row.answer = _text(answer, "answer")
    row.answered_at = utcnow()
    row.answered_by_id = actor.account_id
    line = session.get(DataUse, row.data_use_id)
    overdue = row.answered_at.date() > row.due_date
    events.record(
        session,
        action="data_usage.objection_answered",
        resource_type="data_use_objection",
        resource_id=str(row.id),
        channel=_channel(actor),
        actor_id=actor.account_id,
        actor_role=str(actor.role),
        data={"department": row.department_code, "late": overdue},
        private={"answer": row.answer},
    )
    cases.message_account(
        session,
        account_id=row.subject_id,
        case_number=(line.case_number if line and line.case_number else "")[:40],
        kind="data_objection",
        text=f"您对数据使用记录提出的异议已答复：{row.answer}",
    )
    return row


@dataclass(frozen=True, slots=True)
class ObjectionView:
    """An objection as the steward's and the operator's lists show it."""

    id: int
    use_id: int
    department: str | None
    department_name: str | None
    case: str | None
    action: str
    used_at: datetime
    text: str
    filed_at: datetime
    due_date: date
    answer: str | None
    answered_at: datetime | None
    overdue: bool


def _views(session: Session, rows: list[Objection]) -> list[ObjectionView]:
    uses = {
        use.id: use
        for use in session.scalars(
            select(DataUse).where(DataUse.id.in_([row.data_use_id for row in rows]))
        )
    }
    day = today()
    views = []
    for row in rows:
        use = uses[row.data_use_id]
        views.append(
            ObjectionView(
                id=row.id,
                use_id=use.id,
                department=row.department_code,
                department_name=use.department_name,
                case=use.case_number,
                action=use.action,
                used_at=use.occurred_at,
                text=row.text,
                filed_at=row.filed_at,
                due_date=row.due_date,
                answer=row.answer,
                answered_at=row.answered_at,
                overdue=is_overdue(row, day=day),
            )
        )
    return views


def for_steward(session: Session, *, actor: Actor, open_only: bool = False) -> list[ObjectionView]:
    """The objections to the departments of the steward's jurisdiction, oldest due first."""
    identity.authorize(actor, "data_usage.objection.read")
    stmt = select(Objection).order_by(Objection.due_date, Objection.id).limit(500)
    if open_only:
        stmt = stmt.where(Objection.answered_at.is_(None))
    rows = [
        row
        for row in session.scalars(stmt)
        if identity.allowed(actor, "data_usage.objection.read", _scope(row))
    ]
    return _views(session, rows)


def overdue(session: Session, *, actor: Actor) -> list[ObjectionView]:
    """Every objection past its due date without an answer (the operator's flag)."""
    identity.authorize(actor, "data_usage.objection.overdue")
    rows = list(
        session.scalars(
            select(Objection)
            .where(Objection.answered_at.is_(None), Objection.due_date < today())
            .order_by(Objection.due_date, Objection.id)
            .limit(500)
        )
    )
    return _views(session, rows)


__all__ = [
    "ObjectionView",
    "answer_objection",
    "file_objection",
    "for_steward",
    "get_objection",
    "is_overdue",
    "overdue",
    "states_of",
]
