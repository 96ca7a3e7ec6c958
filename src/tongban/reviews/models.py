"""Tables of the reviews domain: 好差评 ratings and the rectification of bad reviews."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, BigId, UTCDateTime, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.


class Review(Base):
    """One rating of one case on one channel (online: 一事一评; onsite: 一次一评).

    A re-rating after a rectification is a new row (round 1) linked to the rating it answers.
    """

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_number: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(8))  # online | onsite
    round: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 first rating, 1 re-rating
    rerate_of_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reviews.id"))
    # Copied from the case, so that statistics need no join across domains.
    department_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    region_code: Mapped[str] = mapped_column(String(12))
    service_point: Mapped[str | None] = mapped_column(String(12))
    item_code: Mapped[str | None] = mapped_column(String(40))
    rater_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # The clerk who recorded the rating at the service point on the citizen's behalf.
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger)
    via: Mapped[str] = mapped_column(String(16))  # online | assisted | proxy
    overall: Mapped[int] = mapped_column(SmallInteger)
    efficiency: Mapped[int | None] = mapped_column(SmallInteger)
    guide_accuracy: Mapped[int | None] = mapped_column(SmallInteger)
    convenience: Mapped[int | None] = mapped_column(SmallInteger)
    usability: Mapped[int | None] = mapped_column(SmallInteger)
    service_level: Mapped[int | None] = mapped_column(SmallInteger)
    attitude: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    bad: Mapped[bool] = mapped_column(Boolean, default=False)
    # False once an appeal against it was upheld: it no longer counts in statistics.
    counted: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("case_number", "channel", "round"),
        Index("ix_reviews_region", "region_code", "created_at"),
    )


class Rectification(Base):
    """The follow-up (回访) and rectification (整改) of one bad review, with its deadline."""

    __tablename__ = "rectifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    review_id: Mapped[int] = mapped_column(BigId, ForeignKey("reviews.id"), unique=True)
    case_number: Mapped[str] = mapped_column(String(40))
    department_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    region_code: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(16))
    due_date: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    follow_up_note: Mapped[str | None] = mapped_column(Text)
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fix_description: Mapped[str | None] = mapped_column(Text)
    # Whether the fix came by the due date (set when it is described).
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    rerate_review_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reviews.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appeal_reason: Mapped[str | None] = mapped_column(Text)
    appeal_ground: Mapped[str | None] = mapped_column(String(16))  # mistaken | malicious
    appealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The state to return to when an appeal is rejected.
    resume_state: Mapped[str | None] = mapped_column(String(16))
    appeal_decision: Mapped[str | None] = mapped_column(String(16))  # upheld | rejected
    appeal_decision_note: Mapped[str | None] = mapped_column(Text)
    appeal_decided_by_id: Mapped[int | None] = mapped_column(BigInteger)
    appeal_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_rectifications_open", "state", "due_date"),)
