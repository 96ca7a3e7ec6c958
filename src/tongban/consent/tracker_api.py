"""JSON routes of the data tracker: `GET /api/v1/my/data-usage` (a cursor-paginated page of
one's uses), a line's own receipt with the opening of its commitment, objections (filed by the
citizen, answered by the department's stewards, overdue ones for the operator)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from tongban.consent import objections, tracker
from tongban.identity.deps import CurrentActor
from tongban.platform.web.deps import AppSettings, DbSession, RowId, RowIdQuery

router = APIRouter(tags=["data tracker"])


class ObjectionStateRead(BaseModel):
    """An objection to a line: when filed, due, and the answer once given."""

    id: int
    filed_at: datetime
    due_date: date
    answer: str | None
    answered_at: datetime | None
    overdue: bool


class UsageRead(BaseModel):
    """One use of the caller's data."""

    id: int
    at: datetime
    action: str
    kind: str
    description: str
    department: str | None
    department_name: str | None
    official: str | None = Field(description="The official's name, masked (王**).")
    official_number: str | None = Field(description="The official's staff number.")
    role: str | None
    case: str | None
    purpose: str | None
    fields: list[str]
    field_labels: list[str] = Field(description="The fields as the provider names them.")
    outcome: str
    event_uid: str
    ledger_receipt: str = Field(description="The public ledger receipt of the step.")
    own_receipt: str = Field(description="The receipt with the opening (for the subject).")
    objection: ObjectionStateRead | None


class UsagePageRead(BaseModel):
    """A page of uses, newest first; pass `next_cursor` as `cursor` for the next one."""

    subject: int
    items: list[UsageRead]
    next_cursor: str | None


class ObjectionIn(BaseModel):
    """What the citizen did not expect."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=2, max_length=500)


class AnswerIn(BaseModel):
    """The steward's answer to an objection."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=2, max_length=500)


class ObjectionRead(BaseModel):
    """An objection, as stewards and operators list it."""

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


def usage_read(line: tracker.UsageLine) -> UsageRead:
    """The API shape of a line."""
    state = line.objection
    return UsageRead(
        id=line.id,
        at=line.at,
        action=line.action,
        kind=line.kind,
        description=line.words,
        department=line.department,
        department_name=line.department_name,
        official=line.official,
        official_number=line.official_number,
        role=line.role,
        case=line.case,
        purpose=line.purpose,
        fields=line.fields,
        field_labels=line.field_labels,
        outcome=line.outcome,
        event_uid=line.event_uid,
        ledger_receipt=line.ledger_receipt,
        own_receipt=line.own_receipt,
        objection=ObjectionStateRead(
            id=state.id,
            filed_at=state.filed_at,
            due_date=state.due_date,
            answer=state.answer,
            answered_at=state.answered_at,
            overdue=state.overdue,
        )
        if state
        else None,
    )


def _start(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tracker.SHANGHAI) if day else None


def _end(day: date | None) -> datetime | None:
    return datetime.combine(day, time.max, tracker.SHANGHAI) if day else None


@router.get("/my/data-usage", response_model=UsagePageRead)
def my_data_usage(
    actor: CurrentActor,
    session: DbSession,
    department: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[date | None, Query(description="From this day (Asia/Shanghai).")] = None,
    until: Annotated[date | None, Query(description="To this day, included.")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=tracker.MAX_PAGE_SIZE)] = tracker.PAGE_SIZE,
    subject: Annotated[
        RowIdQuery, Query(description="A principal's account (a relative with a proxy).")
    ] = None,
) -> UsagePageRead:
    """Every use of the caller's personal data, newest first (我的数据使用记录)."""
    page = tracker.data_usage(
        session,
        actor=actor,
        subject_id=subject,
        department=department or None,
        since=_start(since),
        until=_end(until),
        cursor=cursor,
        limit=limit,
    )
    return UsagePageRead(
        subject=page.subject_id,
        items=[usage_read(line) for line in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/my/data-usage/{use_id}", response_model=UsageRead)
def my_data_use(use_id: RowId, actor: CurrentActor, session: DbSession) -> UsageRead:
    """One line of the caller's tracker."""
    return usage_read(tracker.get_line(session, actor=actor, use_id=use_id))


@router.get("/my/data-usage/{use_id}/receipt")
def my_data_use_receipt(use_id: RowId, actor: CurrentActor, session: DbSession) -> dict[str, Any]:
    """The line's ledger receipt with the opening of its commitment (salt and committed part):
    `tongban ledger verify-receipt FILE` checks both offline and names the data subject."""
    return tracker.own_receipt(session, actor=actor, use_id=use_id)


@router.post(
    "/my/data-usage/{use_id}/objections", response_model=ObjectionStateRead, status_code=201
)
def object_to_use(
    use_id: RowId,
    body: ObjectionIn,
    actor: CurrentActor,
    session: DbSession,
    settings: AppSettings,
) -> ObjectionStateRead:
    """Object to one use of one's data (异议): sent to the department's stewards."""
    row = objections.file_objection(
        session, actor=actor, use_id=use_id, text=body.text, settings=settings
    )
    return ObjectionStateRead(
        id=row.id,
        filed_at=row.filed_at,
        due_date=row.due_date,
        answer=row.answer,
        answered_at=row.answered_at,
        overdue=False,
    )


def _read(view: objections.ObjectionView) -> ObjectionRead:
    return ObjectionRead(**{name: getattr(view, name) for name in ObjectionRead.model_fields})


@router.get("/data-usage/objections", response_model=list[ObjectionRead])
def list_objections(
    actor: CurrentActor,
    session: DbSession,
    open_only: Annotated[bool, Query(alias="open")] = False,
) -> list[ObjectionRead]:
    """Objections to the departments of the steward's jurisdiction, earliest due first."""
    return [_read(v) for v in objections.for_steward(session, actor=actor, open_only=open_only)]


@router.get("/data-usage/objections/overdue", response_model=list[ObjectionRead])
def overdue_objections(actor: CurrentActor, session: DbSession) -> list[ObjectionRead]:
    """Objections past their due date without an answer (for the operator)."""
    return [_read(v) for v in objections.overdue(session, actor=actor)]


@router.post("/data-usage/objections/{objection_id}/answer", response_model=ObjectionRead)
def answer_objection(
    objection_id: RowId, body: AnswerIn, actor: CurrentActor, session: DbSession
) -> ObjectionRead:
    """The steward answers; the citizen gets the answer as a message and on the line."""
    row = objections.answer_objection(
        session, actor=actor, objection_id=objection_id, answer=body.answer
    )
    views = objections.for_steward(session, actor=actor)
    return _read(next(v for v in views if v.id == row.id))
