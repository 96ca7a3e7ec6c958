"""Rectification of bad reviews (整改): follow-up, fix, re-rating, appeal, overdue flags."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, FieldError, Forbidden, NotFound
from tongban.regions import service as regions
from tongban.reviews.models import Rectification, Review
from tongban.reviews.ratings import (
    APPEALED,
    FIXED,
    FOLLOWED_UP,
    OPEN,
    PENDING_STATES,
    RERATED,
    VOIDED,
    _insert,
    check_indicators,
)
from tongban.reviews.schemas import (
    AppealDecision,
    AppealGround,
    RatingBase,
    RatingChannel,
)


def today() -> date:
    """Today's date in Asia/Shanghai (deadlines count local working days)."""
    return cases.local_date(utcnow())


def is_overdue(task: Rectification, *, day: date) -> bool:
    """True when the task is still pending after its due date."""
    return task.state in PENDING_STATES and day > task.due_date


def get_rectification(session: Session, *, rectification_id: int) -> Rectification:
    """The rectification with this id, or NotFound."""
    task = session.get(Rectification, rectification_id)
    if task is None:
        raise NotFound(f"No rectification {rectification_id}.")
    return task


def _resource(task: Rectification) -> dict[str, Any]:
    return {"department_id": task.department_id, "region_code": task.region_code}


def authorize_task(actor: Actor | None, action: str, task: Rectification) -> None:
    """Role first (a clear 403), then the department and jurisdiction of the task."""
    identity.authorize(actor, action)
    identity.authorize(actor, action, _resource(task))


def _record(
    session: Session,
    task: Rectification,
    *,
    action: str,
    actor: Actor,
    data: dict[str, Any],
    channel: str | Channel = Channel.ONLINE,
    private: dict[str, Any] | None = None,
) -> None:
    # `data` is public (codes, states, counts); what people wrote goes in `private`, kept out
    # of the public leaf and committed to.
    events.record(
        session,
        action=f"rectification.{action}",
        resource_type="rectification",
        resource_id=str(task.id),
        channel=channel if actor.token_id is None else Channel.API,
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        data={"case": task.case_number, "state": task.state, **data},
        private=private,
    )


def _require(task: Rectification, *states: str, doing: str) -> None:
    if task.state not in states:
        raise Conflict(
            f"Rectification {task.id} is {task.state}: cannot {doing} "
            f"(only when {' or '.join(states)}).",
            errors=[FieldError("state", f"is {task.state}")],
        )


def follow_up(
    session: Session,
    *,
    actor: Actor,
    rectification_id: int,
    note: str,
    now: datetime | None = None,
) -> Rectification:
    """Record the follow-up contact (回访) with the rater."""
    task = get_rectification(session, rectification_id=rectification_id)
    authorize_task(actor, "rectification.handle", task)
    _require(task, OPEN, doing="record a follow-up")
    task.state = FOLLOWED_UP
    task.followed_up_at = now or utcnow()
    task.follow_up_note = note
    session.flush()
    _record(session, task, action="followed_up", actor=actor, data={}, private={"note": note})
    return task


def describe_fix(
    session: Session,
    *,
    actor: Actor,
    rectification_id: int,
    description: str,
    now: datetime | None = None,
) -> Rectification:
    """Describe the fix; the rater is then asked to re-rate."""
    task = get_rectification(session, rectification_id=rectification_id)
    authorize_task(actor, "rectification.handle", task)
    if task.state == OPEN:
        raise Conflict(
            "Follow up with the rater (回访) before describing the fix.",
            errors=[FieldError("state", "no follow-up recorded yet")],
        )
    _require(task, FOLLOWED_UP, doing="describe a fix")
    moment = now or utcnow()
    task.state = FIXED
    task.fixed_at = moment
    task.fix_description = description
    task.on_time = cases.local_date(moment) <= task.due_date
    session.flush()
    _record(
        session,
        task,
        action="fixed",
        actor=actor,
        data={"on_time": task.on_time},
        private={"description": description},
    )
    _tell_rater(session, task, actor=actor, description=description)
    return task


RECTIFIED_TEXT = "您对办件 {number} 的评价已整改：{description} 欢迎您再次评价。"


def _tell_rater(session: Session, task: Rectification, *, actor: Actor, description: str) -> None:
    """The rater learns the outcome: an in-app message, and a step on the case's timeline."""
    review = session.get(Review, task.review_id)
    assert review is not None  # the foreign key guarantees it
    if review.rater_id is not None:
        cases.message_account(
            session,
            account_id=review.rater_id,
            case_number=task.case_number,
            kind="rectified",
            text=RECTIFIED_TEXT.format(number=task.case_number, description=description),
        )
    events.record(
        session,
        action="review.rectified",
        resource_type="case",
        resource_id=task.case_number,
        channel=Channel.API if actor.token_id else Channel.ONLINE,
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        # What was fixed is text written by the official: the reason, kept out of the leaf.
        reason=description,
        data={"rectification": task.id, "on_time": task.on_time},
    )


def rerate(
    session: Session,
    *,
    actor: Actor,
    rectification_id: int,
    data: RatingBase,
    settings: Settings,
    now: datetime | None = None,
) -> Review:
    """The rater's new rating of the fixed case, linked to the bad one; closes the task."""
    task = get_rectification(session, rectification_id=rectification_id)
    original = session.get(Review, task.review_id)
    assert original is not None  # the foreign key guarantees it
    identity.authorize(actor, "review.create")
    recorded_by: int | None = None
    if actor.role is Role.CLERK:
        identity.authorize(actor, "review.create", {"region_code": original.service_point})
        recorded_by = actor.account_id
    elif actor.account_id != original.rater_id:
        raise Forbidden("Only the rater (or the service point that recorded it) may re-rate.")
    _require(task, FIXED, doing="re-rate")
    channel = RatingChannel(original.channel)
    levels = check_indicators(channel, data)
    moment = now or utcnow()
    review = Review(
        case_number=original.case_number,
        channel=original.channel,
        round=1,
        rerate_of_id=original.id,
        department_id=original.department_id,
        region_code=original.region_code,
        service_point=original.service_point,
        item_code=original.item_code,
        rater_id=original.rater_id,
        recorded_by_id=recorded_by,
        via=Channel.ASSISTED.value if recorded_by else original.via,
        comment=data.comment,
        # A re-rating opens no new task: it closes this one, whatever its level.
        bad=int(data.overall) <= 2,
        counted=True,
        created_at=moment,
        **levels,
    )
    _insert(session, review)
    task.state = RERATED
    task.rerate_review_id = review.id
    task.closed_at = moment
    session.flush()
    events.record(
        session,
        action="review.rerated",
        resource_type="review",
        resource_id=str(review.id),
        channel=review.via,
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        on_behalf_of_id=original.rater_id if recorded_by else None,
        data={"case": review.case_number, "rerate_of": original.id, "overall": review.overall},
        private={"comment": review.comment} if review.comment else None,
    )
    _record(
        session,
        task,
        action="closed",
        actor=actor,
        data={"rerate_review": review.id, "overall": review.overall},
        channel=review.via,
    )
    return review


def appeal(
    session: Session,
    *,
    actor: Actor,
    rectification_id: int,
    ground: AppealGround,
    reason: str,
    now: datetime | None = None,
) -> Rectification:
    """The department appeals a mistaken or malicious review (申诉); an operator decides."""
    task = get_rectification(session, rectification_id=rectification_id)
    authorize_task(actor, "rectification.appeal", task)
    if task.appeal_decision is not None:
        raise Conflict(
            f"Rectification {task.id} was already appealed and decided ({task.appeal_decision}).",
            errors=[FieldError("state", "one appeal per review")],
        )
    _require(task, OPEN, FOLLOWED_UP, doing="appeal")
    task.resume_state = task.state
    task.state = APPEALED
    task.appeal_ground = ground.value
    task.appeal_reason = reason
    task.appealed_at = now or utcnow()
    session.flush()
    _record(
        session,
        task,
        action="appealed",
        actor=actor,
        data={"ground": ground.value},
        private={"reason": reason},
    )
    return task


def decide_appeal(
    session: Session,
    *,
    actor: Actor,
    rectification_id: int,
    decision: AppealDecision,
    note: str = "",
    now: datetime | None = None,
) -> Rectification:
    """Uphold (the review no longer counts) or reject (the rectification goes on) an appeal."""
    task = get_rectification(session, rectification_id=rectification_id)
    identity.authorize(actor, "appeal.decide", _resource(task))
    _require(task, APPEALED, doing="decide an appeal")
    moment = now or utcnow()
    task.appeal_decision = decision.value
    task.appeal_decision_note = note or None
    task.appeal_decided_by_id = actor.account_id
    task.appeal_decided_at = moment
    if decision is AppealDecision.UPHELD:
        task.state = VOIDED
        task.closed_at = moment
        review = session.get(Review, task.review_id)
        assert review is not None
        review.counted = False
    else:
        task.state = task.resume_state or OPEN
    session.flush()
    _record(
        session,
        task,
        action="appeal_decided",
        actor=actor,
        data={"decision": decision.value},
        private={"note": note} if note else None,
    )
    return task


def list_rectifications(
    session: Session,
    *,
    actor: Actor,
    state: str | None = None,
    overdue_only: bool = False,
    day: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Rectification], int]:
    """The tasks the actor may see (their department, or all for operators), due first."""
    identity.authorize(actor, "rectification.read")
    day = day or today()
    stmt = select(Rectification)
    if actor.role is not Role.ADMIN:
        stmt = stmt.where(Rectification.department_id == actor.department_id)
        if actor.region_root:
            prefix = regions.significant_prefix(actor.region_root)
            stmt = stmt.where(Rectification.region_code.startswith(prefix, autoescape=True))
    if state is not None:
        stmt = stmt.where(Rectification.state == state)
    if overdue_only:
        stmt = stmt.where(Rectification.state.in_(PENDING_STATES), Rectification.due_date < day)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Rectification.due_date, Rectification.id).limit(limit).offset(offset)
    ).all()
    return rows, int(total)


def overdue_rectifications(
    session: Session, *, day: date | None = None, limit: int = 20
) -> list[Rectification]:
    """Pending tasks past their due date, most overdue first (for operators' views)."""
    day = day or today()
    return list(
        session.scalars(
            select(Rectification)
            .where(Rectification.state.in_(PENDING_STATES), Rectification.due_date < day)
            .order_by(Rectification.due_date, Rectification.id)
            .limit(limit)
        )
    )
