"""Pydantic shapes of the reviews domain (ratings, rectifications, public statistics)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class RatingChannel(StrEnum):
    """Where the rating is given: online for the case (一事一评), onsite for a visit (一次一评)."""

    ONLINE = "online"
    ONSITE = "onsite"


# The national indicators of each channel (GB/T 39734 / 国办发〔2019〕51号).
INDICATORS: dict[RatingChannel, tuple[str, ...]] = {
    RatingChannel.ONLINE: ("overall", "efficiency", "guide_accuracy", "convenience", "usability"),
    RatingChannel.ONSITE: ("overall", "efficiency", "service_level", "attitude"),
}
ALL_INDICATORS = (
    "overall",
    "efficiency",
    "guide_accuracy",
    "convenience",
    "usability",
    "service_level",
    "attitude",
)

Level = Field(default=None, ge=1, le=5)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RatingBase(_In):
    """Levels 1 (非常不满意) … 5 (非常满意) per indicator, and an optional comment.

    Only `overall` is required (one tap on the five-face scale); the channel's other indicators
    are optional, and those of the other channel are refused.
    """

    overall: int = Field(ge=1, le=5)
    efficiency: int | None = Level
    guide_accuracy: int | None = Level
    convenience: int | None = Level
    usability: int | None = Level
    service_level: int | None = Level
    attitude: int | None = Level
    comment: str | None = Field(default=None, max_length=1000)


class ReviewCreate(RatingBase):
    """A first rating of a case on one channel."""

    case_number: str = Field(min_length=1, max_length=40)
    channel: RatingChannel = RatingChannel.ONLINE


class RerateCreate(RatingBase):
    """The rater's new rating after the fix (linked to the bad one)."""


class ReviewRead(BaseModel):
    """A rating as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    case_number: str
    channel: str
    round: int
    rerate_of_id: int | None
    department_id: int | None
    region_code: str
    service_point: str | None
    via: str
    overall: int
    efficiency: int | None
    guide_accuracy: int | None
    convenience: int | None
    usability: int | None
    service_level: int | None
    attitude: int | None
    comment: str | None
    bad: bool
    counted: bool
    created_at: datetime
    rectification_id: int | None = None


class FollowUpIn(_In):
    """The follow-up contact (回访) with the rater."""

    note: str = Field(min_length=1, max_length=2000)


class FixIn(_In):
    """What was fixed (整改措施)."""

    description: str = Field(min_length=1, max_length=4000)


class AppealGround(StrEnum):
    """Why a department appeals a review (申诉)."""

    MISTAKEN = "mistaken"
    MALICIOUS = "malicious"


class AppealIn(_In):
    """A department's appeal against a bad review."""

    ground: AppealGround
    reason: str = Field(min_length=1, max_length=4000)


class AppealDecision(StrEnum):
    """An operator's decision on an appeal."""

    UPHELD = "upheld"  # the review is void and no longer counts
    REJECTED = "rejected"  # the rectification goes on


class AppealDecisionIn(_In):
    """The operator's decision, with a note."""

    decision: AppealDecision
    note: str = Field(default="", max_length=2000)


class RectificationRead(BaseModel):
    """A rectification task, with its overdue flag for today."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    review_id: int
    case_number: str
    department_id: int | None
    region_code: str
    state: str
    due_date: date
    opened_at: datetime
    followed_up_at: datetime | None
    follow_up_note: str | None
    fixed_at: datetime | None
    fix_description: str | None
    on_time: bool | None
    rerate_review_id: int | None
    closed_at: datetime | None
    appeal_ground: str | None
    appeal_reason: str | None
    appealed_at: datetime | None
    appeal_decision: str | None
    appeal_decision_note: str | None
    appeal_decided_at: datetime | None
    overdue: bool = False


class RectificationPage(BaseModel):
    """One page of rectifications."""

    items: list[RectificationRead]
    total: int


class ReviewStats(BaseModel):
    """Public statistics of one department, region or the whole node over a period."""

    department_id: int | None
    region_code: str | None
    start: date | None
    end: date | None
    ratings: int
    distribution: dict[str, int]
    satisfaction_rate: float | None
    mean_overall: float | None
    indicator_means: dict[str, float | None]
    bad_reviews: int
    voided: int
    rectified: int
    rectification_rate: float | None
    rectified_on_time: int
    timeliness_rate: float | None
    overdue: int
    rerated: int
    rerated_satisfied: int
