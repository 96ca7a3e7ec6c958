"""Public statistics of ratings and rectifications (results are public: 国办发〔2019〕51号)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.identity import service as identity
from tongban.platform.errors import FieldError, Invalid, NotFound
from tongban.regions import service as regions
from tongban.reviews.models import Rectification, Review
from tongban.reviews.ratings import FIXED, PENDING_STATES, RERATED
from tongban.reviews.schemas import ALL_INDICATORS, ReviewStats


def check_period(start: date | None, end: date | None) -> None:
    """Invalid when the period ends before it starts."""
    if start is not None and end is not None and end < start:
        raise Invalid(
            "The period ends before it starts.",
            errors=[FieldError("end", f"{end.isoformat()} is before start {start.isoformat()}")],
        )


def _utc_bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    # Periods are Asia/Shanghai calendar days; stored times are UTC.
    lo = datetime.combine(start, time.min, tzinfo=cases.SHANGHAI).astimezone(UTC) if start else None
    hi = (
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=cases.SHANGHAI).astimezone(UTC)
        if end
        else None
    )
    return lo, hi


def region_prefix(session: Session, code: str, *, field_name: str = "region") -> str:
    """The code prefix of a known region (Invalid when malformed or unknown)."""
    try:
        region = regions.get(session, code=code)
    except NotFound:
        raise Invalid(
            f"Unknown region {code}.", errors=[FieldError(field_name, "no such region")]
        ) from None
    except Invalid as exc:
        raise Invalid(exc.detail, errors=[FieldError(field_name, exc.detail)]) from None
    return str(regions.significant_prefix(region.code))


def statistics(
    session: Session,
    *,
    department_id: int | None = None,
    region: str | None = None,
    start: date | None = None,
    end: date | None = None,
    day: date | None = None,
) -> ReviewStats:
    """Distribution, satisfaction, rectification rate and timeliness (first ratings only)."""
    check_period(start, end)
    if department_id is not None:
        try:
            identity.get_department(session, department_id=department_id)
        except NotFound:
            raise Invalid(
                f"Unknown department {department_id}.",
                errors=[FieldError("department_id", "no such department")],
            ) from None
    prefix = region_prefix(session, region) if region else None
    lo, hi = _utc_bounds(start, end)

    def scoped(stmt: Select) -> Select:
        stmt = stmt.where(Review.round == 0)
        if department_id is not None:
            stmt = stmt.where(Review.department_id == department_id)
        if prefix is not None:
            stmt = stmt.where(Review.region_code.startswith(prefix, autoescape=True))
        if lo is not None:
            stmt = stmt.where(Review.created_at >= lo)
        if hi is not None:
            stmt = stmt.where(Review.created_at < hi)
        return stmt

    counted = scoped(select(Review.overall, func.count()).where(Review.counted.is_(True))).group_by(
        Review.overall
    )
    distribution = {str(level): 0 for level in range(1, 6)}
    for level, n in session.execute(counted):
        distribution[str(level)] = int(n)
    ratings = sum(distribution.values())
    satisfied = sum(distribution[str(level)] for level in (3, 4, 5))
    means_row = session.execute(
        scoped(
            select(*[func.avg(getattr(Review, name)) for name in ALL_INDICATORS]).where(
                Review.counted.is_(True)
            )
        )
    ).one()
    means = {
        name: (round(float(v), 3) if v is not None else None)
        for name, v in zip(ALL_INDICATORS, means_row, strict=True)
    }
    voided = session.scalar(
        scoped(select(func.count()).select_from(Review)).where(Review.counted.is_(False))
    )
    tasks = scoped(
        select(Rectification.state, Rectification.on_time, Rectification.due_date)
        .join(Review, Review.id == Rectification.review_id)
        .where(Review.counted.is_(True))
    )
    day = day or cases.local_date(datetime.now(UTC))
    bad = rectified = on_time = overdue = 0
    for state, task_on_time, due in session.execute(tasks):
        bad += 1
        if state in (FIXED, RERATED):
            rectified += 1
            on_time += 1 if task_on_time else 0
        elif state in PENDING_STATES and day > due:
            overdue += 1
    rerates = session.execute(
        select(Review.overall)
        .join(Rectification, Rectification.rerate_review_id == Review.id)
        .where(Rectification.review_id.in_(scoped(select(Review.id))))
    ).all()
    return ReviewStats(
        department_id=department_id,
        region_code=region,
        start=start,
        end=end,
        ratings=ratings,
        distribution=distribution,
        satisfaction_rate=round(satisfied / ratings, 4) if ratings else None,
        mean_overall=means["overall"],
        indicator_means=means,
        bad_reviews=bad,
        voided=int(voided or 0),
        rectified=rectified,
        rectification_rate=round(rectified / bad, 4) if bad else None,
        rectified_on_time=on_time,
        timeliness_rate=round(on_time / rectified, 4) if rectified else None,
        overdue=overdue,
        rerated=len(rerates),
        rerated_satisfied=sum(1 for (overall,) in rerates if overall >= 3),
    )
