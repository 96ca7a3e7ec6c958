"""JSON routes of 好差评: ratings, rectifications, appeals and public statistics."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from tongban.identity.deps import CurrentActor
from tongban.platform.web.deps import AppSettings, DbSession, RowId, RowIdQuery, SkipQuery
from tongban.reviews import ratings, rectify, stats
from tongban.reviews.models import Rectification, Review
from tongban.reviews.schemas import (
    AppealDecisionIn,
    AppealIn,
    FixIn,
    FollowUpIn,
    RectificationPage,
    RectificationRead,
    RerateCreate,
    ReviewCreate,
    ReviewRead,
    ReviewStats,
)

router = APIRouter(tags=["reviews"])


def _review(session: DbSession, review: Review) -> ReviewRead:
    read = ReviewRead.model_validate(review)
    task = ratings.rectification_of(session, review_id=review.id)
    read.rectification_id = task.id if task else None
    return read


def _task(task: Rectification) -> RectificationRead:
    read = RectificationRead.model_validate(task)
    read.overdue = rectify.is_overdue(task, day=rectify.today())
    return read


@router.post("/reviews", status_code=status.HTTP_201_CREATED, response_model=ReviewRead)
def create_review(
    body: ReviewCreate, session: DbSession, actor: CurrentActor, settings: AppSettings
) -> ReviewRead:
    """Rate a completed case (online) or a service-point visit (onsite); 差评 opens a task."""
    review = ratings.rate(
        session,
        actor=actor,
        case_number=body.case_number,
        channel=body.channel,
        data=body,
        settings=settings,
    )
    return _review(session, review)


@router.get("/reviews/stats", response_model=ReviewStats)
def review_statistics(
    session: DbSession,
    department_id: RowIdQuery = None,
    region: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> ReviewStats:
    """Public (no login): distribution, satisfaction, rectification rate and timeliness."""
    return stats.statistics(
        session, department_id=department_id, region=region, start=start, end=end
    )


@router.get("/reviews", response_model=list[ReviewRead])
def list_case_reviews(
    session: DbSession, actor: CurrentActor, case: Annotated[str, Query(max_length=40)]
) -> list[ReviewRead]:
    """The ratings of one case (its rater, service point, department, operators)."""
    return [
        _review(session, r) for r in ratings.reviews_of_case(session, actor=actor, case_number=case)
    ]


@router.get("/reviews/{review_id}", response_model=ReviewRead)
def read_review(review_id: RowId, session: DbSession, actor: CurrentActor) -> ReviewRead:
    """One rating."""
    review = ratings.get_review(session, review_id=review_id)
    ratings.authorize_review_read(session, actor=actor, review=review)
    return _review(session, review)


@router.get("/rectifications", response_model=RectificationPage)
def list_rectifications(
    session: DbSession,
    actor: CurrentActor,
    state: str | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: SkipQuery = 0,
) -> RectificationPage:
    """The department's rectification tasks (all of them for operators), due first."""
    rows, total = rectify.list_rectifications(
        session, actor=actor, state=state, overdue_only=overdue, limit=limit, offset=offset
    )
    return RectificationPage(items=[_task(t) for t in rows], total=total)


@router.get("/rectifications/{rectification_id}", response_model=RectificationRead)
def read_rectification(
    rectification_id: RowId, session: DbSession, actor: CurrentActor
) -> RectificationRead:
    """One rectification task."""
    task = rectify.get_rectification(session, rectification_id=rectification_id)
    rectify.authorize_task(actor, "rectification.read", task)
    return _task(task)


@router.post("/rectifications/{rectification_id}/follow-up", response_model=RectificationRead)
def follow_up(
    rectification_id: RowId, body: FollowUpIn, session: DbSession, actor: CurrentActor
) -> RectificationRead:
    """Record the follow-up contact (回访)."""
    task = rectify.follow_up(
        session, actor=actor, rectification_id=rectification_id, note=body.note
    )
    return _task(task)


@router.post("/rectifications/{rectification_id}/fix", response_model=RectificationRead)
def describe_fix(
    rectification_id: RowId, body: FixIn, session: DbSession, actor: CurrentActor
) -> RectificationRead:
    """Describe the fix (整改); the rater is asked to re-rate."""
    task = rectify.describe_fix(
        session, actor=actor, rectification_id=rectification_id, description=body.description
    )
    return _task(task)


@router.post(
    "/rectifications/{rectification_id}/rerate",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewRead,
)
def rerate(
    rectification_id: RowId,
    body: RerateCreate,
    session: DbSession,
    actor: CurrentActor,
    settings: AppSettings,
) -> ReviewRead:
    """The rater re-rates the fixed case (a new rating linked to the bad one)."""
    review = rectify.rerate(
        session, actor=actor, rectification_id=rectification_id, data=body, settings=settings
    )
    return _review(session, review)


@router.post("/rectifications/{rectification_id}/appeal", response_model=RectificationRead)
def appeal(
    rectification_id: RowId, body: AppealIn, session: DbSession, actor: CurrentActor
) -> RectificationRead:
    """The department appeals a mistaken or malicious review (申诉)."""
    task = rectify.appeal(
        session,
        actor=actor,
        rectification_id=rectification_id,
        ground=body.ground,
        reason=body.reason,
    )
    return _task(task)


@router.post("/rectifications/{rectification_id}/appeal/decision", response_model=RectificationRead)
def decide_appeal(
    rectification_id: RowId, body: AppealDecisionIn, session: DbSession, actor: CurrentActor
) -> RectificationRead:
    """An operator upholds or rejects the appeal (复核)."""
    task = rectify.decide_appeal(
        session,
        actor=actor,
        rectification_id=rectification_id,
        decision=body.decision,
        note=body.note,
    )
    return _task(task)
