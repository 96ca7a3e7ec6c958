"""Handing a case to a colleague (转办给同事) within the deciding department.

A case belongs to its department's queue; an official may name the colleague who works it now.
Only an active official of the same department whose jurisdiction covers the case can take it
(whoever takes a case must be able to decide it). The hand-over is an event on the case's
timeline whose public part holds the department's code and counts only: who handed the case to
whom (account ids) is in its committed `private` part and the official's note in `reason`, so
neither names nor ids of people reach the ledger's leaf.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tongban.cases import clocks
from tongban.cases.handling import authorize_read, get_case
from tongban.cases.models import Case
from tongban.cases.states import FINAL_STATES
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.service import Actor
from tongban.platform.errors import Conflict, FieldError, Forbidden, Invalid, PreconditionFailed


@dataclass(frozen=True)
class Colleague:
    """An official a case may be handed to."""

    account_id: int
    name: str
    is_me: bool


def _resource(case: Case) -> dict[str, object]:
    return {"department_id": case.department_id, "region_code": case.authority_region}


def check_may_assign(session: Session, *, actor: Actor, case: Case) -> None:
    """The caller may hand this case on: they read it, it is a live case of their department."""
    authorize_read(session, actor=actor, case=case)
    identity.authorize(actor, "case.assign")
    if case.kind == "bundle":
        raise Forbidden("Officials see the sub-cases of a bundle, not the bundle.")
    identity.authorize(actor, "case.assign", _resource(case))
    if case.state in FINAL_STATES or case.due_date is None:
        raise Conflict(
            f"A case that is {case.state} is in nobody's queue any more.",
            errors=[FieldError("assignee", "the case is closed")],
        )


def colleagues(session: Session, *, actor: Actor, case: Case) -> list[Colleague]:
    """Who the caller may hand this case to (the current assignee left out); [] when the
    caller may not hand it on."""
    try:
        check_may_assign(session, actor=actor, case=case)
    except (Forbidden, Conflict):
        return []
    assert case.department_id is not None  # authorized by department above
    return [
        Colleague(account_id=a.id, name=a.display_name, is_me=a.id == actor.account_id)
        for a in identity.colleagues(
            session, department_id=case.department_id, region_code=case.authority_region
        )
        if a.id != case.assignee_id
    ]


def assignee_name(session: Session, *, case: Case) -> str | None:
    """The name of the official the case is handed to, or None."""
    if case.assignee_id is None:
        return None
    return identity.account_card(session, account_id=case.assignee_id).display_name


def assign(
    session: Session,
    *,
    actor: Actor,
    number: str,
    assignee_id: int,
    version: int | None = None,
    note: str | None = None,
) -> Case:
    """Hand the case to a colleague of its department; recorded on its timeline (ids only)."""
    case = get_case(session, number=number)
    check_may_assign(session, actor=actor, case=case)
    if version is not None and version != case.version:
        raise PreconditionFailed(
            f"The case changed (version {case.version}, you sent {version}); reload it.",
            errors=[FieldError("version", f"current version is {case.version}")],
        )
    if assignee_id == case.assignee_id:
        raise Conflict(
            "The case is already with this official.",
            errors=[FieldError("assignee", "already assigned to this official")],
        )
    eligible = {c.account_id for c in colleagues(session, actor=actor, case=case)}
    if assignee_id not in eligible:
        raise Invalid(
            "Choose an official of this department who may decide the case.",
            errors=[FieldError("assignee", "not an official who may decide this case")],
        )
    note = (note or "").strip()[:200] or None
    before = case.assignee_id
    case.assignee_id = assignee_id
    case.updated_at = clocks.now()
    try:
        session.flush()
    except (StaleDataError, OperationalError):
        raise Conflict(
            "Someone else changed this case at the same moment; reload it and try again."
        ) from None
    events.record(
        session,
        action="case.assigned",
        resource_type="case",
        resource_id=case.number,
        channel=Channel.API if actor.token_id else Channel.ONLINE,
        actor_id=actor.account_id,
        actor_role=str(actor.role),
        reason=note,
        # Public: that the case changed hands inside the department. Who handed it to whom
        # relates people to a case: committed to, beside the event (events.service).
        data={
            "department": actor.department_code,
            "handover": "first" if before is None else "again",
            "version": case.version,
        },
        private={"assignee": assignee_id, "previous": before},
    )
    return case
