"""Ratings (好差评): who may rate which case, on which channel, with which indicators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from tongban.reviews.models import Rectification, Review
from tongban.reviews.schemas import ALL_INDICATORS, INDICATORS, RatingBase, RatingChannel
from tongban.workdays.service import load_calendar

# 差评 is the overall level 1 or 2 (domain.md §6). An indicator at 1–2 under an overall of 3 or
# more is shown in the indicator means but opens no task: the national system files the review
# by its overall level, and the indicators explain it.
BAD_LEVEL = 2

# Rectification states; `rerated` and `voided` are final.
OPEN = "open"
FOLLOWED_UP = "followed_up"
FIXED = "fixed"
RERATED = "rerated"
APPEALED = "appealed"
VOIDED = "voided"
PENDING_STATES = (OPEN, FOLLOWED_UP, APPEALED)


def _invalid(field_name: str, message: str) -> Invalid:
    return Invalid(message, errors=[FieldError(field_name, message)])


def check_indicators(channel: RatingChannel, data: RatingBase) -> dict[str, int | None]:
    """The levels of the channel's indicators; Invalid naming each foreign one.

    Only the overall level is required (one tap on the scale); the channel's other indicators
    may be left out.
    """
    wanted = INDICATORS[channel]
    errors: list[FieldError] = []
    levels: dict[str, int | None] = {}
    for name in ALL_INDICATORS:
        value = getattr(data, name)
        if name == "overall" and value is None:
            errors.append(FieldError(name, f"required for an {channel.value} rating"))
        elif name not in wanted and value is not None:
            errors.append(FieldError(name, f"not an indicator of an {channel.value} rating"))
        levels[name] = value
    if errors:
        raise Invalid(f"The {channel.value} rating's indicators are wrong.", errors=errors)
    return levels


def _rater(session: Session, *, actor: Actor, case: Any) -> tuple[int | None, int | None, str]:
    """(rater, recorded by, via) after checking the actor may rate this case."""
    if actor.role is Role.CLERK:
        # The clerk records the rating at the service point that took the case.
        identity.authorize(actor, "review.create", {"region_code": case.service_point})
        return case.applicant_id, actor.account_id, Channel.ASSISTED.value
    identity.authorize(actor, "review.create")
    if actor.account_id == case.applicant_id:
        return actor.account_id, None, Channel.ONLINE.value
    if actor.account_id == case.filed_by_id:
        return actor.account_id, None, Channel.PROXY.value
    raise Forbidden("Only the applicant, whoever filed the case, or its service point may rate it.")


def _check_ratable(case: Any, channel: RatingChannel) -> None:
    if case.kind == "bundle":
        raise Conflict("Rate the sub-cases of a bundle, not the bundle.")
    if channel is RatingChannel.ONLINE and case.state != cases.State.COMPLETED:
        raise Conflict(
            f"Case {case.number} is {case.state}: a case is rated once it is completed.",
            errors=[FieldError("case_number", "the case is not completed")],
        )
    if channel is RatingChannel.ONSITE:
        if case.service_point is None:
            raise Conflict(
                f"Case {case.number} was not handled at a service point: nothing to rate onsite.",
                errors=[FieldError("channel", "no on-site visit for this case")],
            )
        if case.state in (cases.State.WITHDRAWN,):
            raise Conflict(f"Case {case.number} was withdrawn.")


def rate(
    session: Session,
    *,
    actor: Actor,
    case_number: str,
    channel: RatingChannel,
    data: RatingBase,
    settings: Settings,
    now: datetime | None = None,
) -> Review:
    """Record a first rating of a case; a bad one opens a rectification task."""
    case = cases.get_case(session, number=case_number)
    rater_id, recorded_by, via = _rater(session, actor=actor, case=case)
    _check_ratable(case, channel)
    levels = check_indicators(channel, data)
    existing = session.scalar(
        select(Review.id).where(
            Review.case_number == case.number, Review.channel == channel.value, Review.round == 0
        )
    )
    if existing is not None:
        raise Conflict(
            f"Case {case.number} already has an {channel.value} rating (one per case and channel).",
            errors=[FieldError("case_number", "already rated on this channel")],
        )
    moment = now or utcnow()
    review = Review(
        case_number=case.number,
        channel=channel.value,
        round=0,
        department_id=case.department_id,
        region_code=case.authority_region,
        service_point=case.service_point,
        item_code=case.item_code,
        rater_id=rater_id,
        recorded_by_id=recorded_by,
        via=via,
        comment=data.comment,
        bad=int(data.overall) <= BAD_LEVEL,
        counted=True,
        created_at=moment,
        **levels,
    )
    _insert(session, review)
    events.record(
        session,
        action="review.created",
        resource_type="review",
        resource_id=str(review.id),
        channel=via,
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        on_behalf_of_id=rater_id if recorded_by else None,
        service_point=actor.service_point if recorded_by else None,
        data={
            "case": case.number,
            "channel": channel.value,
            "overall": review.overall,
            "bad": review.bad,
        },
        # The rater's words stay out of the public leaf (committed to).
        private={"comment": review.comment} if review.comment else None,
    )
    if review.bad:
        _open_rectification(session, review=review, actor=actor, settings=settings, now=moment)
    return review


def _insert(session: Session, review: Review) -> None:
    # A concurrent duplicate hits the unique constraint: a 409, not a database error.
    try:
        with session.begin_nested():
            session.add(review)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"Case {review.case_number} already has this rating.",
            errors=[FieldError("case_number", "already rated on this channel")],
        ) from None


def _open_rectification(
    session: Session, *, review: Review, actor: Actor, settings: Settings, now: datetime
) -> Rectification:
    calendar = load_calendar(session)
    due = calendar.add_working_days(
        cases.local_date(now), settings.rectification_limit_working_days
    )
    task = Rectification(
        review_id=review.id,
        case_number=review.case_number,
        department_id=review.department_id,
        region_code=review.region_code,
        state=OPEN,
        due_date=due,
        opened_at=now,
    )
    session.add(task)
    session.flush()
    events.record(
        session,
        action="rectification.opened",
        resource_type="rectification",
        resource_id=str(task.id),
        channel=Channel.SYSTEM,
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        data={
            "review": review.id,
            "case": review.case_number,
            "department_id": review.department_id,
            "due_date": due.isoformat(),
        },
    )
    return task


def get_review(session: Session, *, review_id: int) -> Review:
    """The rating with this id, or NotFound."""
    review = session.get(Review, review_id)
    if review is None:
        raise NotFound(f"No review {review_id}.")
    return review


def authorize_review_read(session: Session, *, actor: Actor | None, review: Review) -> None:
    """The rater, the service point's clerk, the department's officials and operators."""
    identity.authorize(actor, "review.read")
    assert actor is not None  # authorize() raised Unauthorized otherwise
    if actor.role is Role.CITIZEN:
        identity.authorize(actor, "review.read", {"owner_id": review.rater_id})
    elif actor.role is Role.CLERK:
        identity.authorize(actor, "review.read", {"region_code": review.service_point})
    elif actor.role is Role.OFFICIAL:
        identity.authorize(
            actor,
            "review.read",
            {"department_id": review.department_id, "region_code": review.region_code},
        )


def reviews_of_case(session: Session, *, actor: Actor, case_number: str) -> list[Review]:
    """Every rating of one case that the actor may see, oldest first."""
    rows = list(
        session.scalars(select(Review).where(Review.case_number == case_number).order_by(Review.id))
    )
    if not rows:
        # Either no such case or no rating yet: tell which, after the case's own check.
        cases.get_case(session, number=case_number)
    for review in rows:
        authorize_review_read(session, actor=actor, review=review)
    return rows


def rectification_of(session: Session, *, review_id: int) -> Rectification | None:
    """The rectification a bad review opened, if any."""
    return session.scalar(select(Rectification).where(Rectification.review_id == review_id))
