"""JSON routes of handing a case to a colleague in its department (cases/assignment.py)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tongban.cases import assignment, handling
from tongban.identity.deps import CurrentActor
from tongban.platform.db import MAX_ROW_ID
from tongban.platform.web.deps import DbSession

router = APIRouter(tags=["cases"])


class AssignmentIn(BaseModel):
    """Whom to hand the case to; `version` (optional) guards against a stale read."""

    assignee: int = Field(
        ge=1, le=MAX_ROW_ID, description="The account id of a colleague (see colleagues)"
    )
    version: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    note: str | None = Field(default=None, max_length=200)


class AssignmentRead(BaseModel):
    """Who works the case now."""

    number: str
    assignee: int | None
    assignee_name: str | None
    version: int


class ColleagueRead(BaseModel):
    """An official the case may be handed to."""

    id: int
    name: str
    is_me: bool


@router.post("/cases/{number}/assignment", response_model=AssignmentRead)
def assign_case(
    number: str, body: AssignmentIn, session: DbSession, actor: CurrentActor
) -> AssignmentRead:
    """Hand the case to a colleague of the deciding department whose jurisdiction covers it;
    recorded on the case's timeline."""
    case = assignment.assign(
        session,
        actor=actor,
        number=number,
        assignee_id=body.assignee,
        version=body.version,
        note=body.note,
    )
    return AssignmentRead(
        number=case.number,
        assignee=case.assignee_id,
        assignee_name=assignment.assignee_name(session, case=case),
        version=case.version,
    )


@router.get("/cases/{number}/assignment/colleagues", response_model=list[ColleagueRead])
def case_colleagues(number: str, session: DbSession, actor: CurrentActor) -> list[ColleagueRead]:
    """The officials the caller may hand this case to ([] when they may not hand it on)."""
    case = handling.get_case(session, number=number)
    handling.authorize_read(session, actor=actor, case=case)
    assignment.check_may_assign(session, actor=actor, case=case)
    return [
        ColleagueRead(id=c.account_id, name=c.name, is_me=c.is_me)
        for c in assignment.colleagues(session, actor=actor, case=case)
    ]
