"""Reviews rules (好差评): other domains import reviews only through this module.

Split by sub-domain: ratings.py (who rates what, bad reviews open tasks), rectify.py
(follow-up, fix, re-rating, appeal, overdue), stats.py (public statistics).
"""

from __future__ import annotations

from tongban.reviews.models import Rectification, Review
from tongban.reviews.ratings import (
    APPEALED,
    BAD_LEVEL,
    FIXED,
    FOLLOWED_UP,
    OPEN,
    PENDING_STATES,
    RERATED,
    VOIDED,
    authorize_review_read,
    check_indicators,
    get_review,
    rate,
    rectification_of,
    reviews_of_case,
)
from tongban.reviews.rectify import (
    appeal,
    authorize_task,
    decide_appeal,
    describe_fix,
    follow_up,
    get_rectification,
    is_overdue,
    list_rectifications,
    overdue_rectifications,
    rerate,
    today,
)
from tongban.reviews.stats import check_period, region_prefix, statistics

__all__ = [
    "APPEALED",
    "BAD_LEVEL",
    "FIXED",
    "FOLLOWED_UP",
    "OPEN",
    "PENDING_STATES",
    "RERATED",
    "VOIDED",
    "Rectification",
    "Review",
    "appeal",
    "authorize_review_read",
    "authorize_task",
    "check_indicators",
    "check_period",
    "decide_appeal",
    "describe_fix",
    "follow_up",
    "get_rectification",
    "get_review",
    "is_overdue",
    "list_rectifications",
    "overdue_rectifications",
    "rate",
    "rectification_of",
    "region_prefix",
    "rerate",
    "reviews_of_case",
    "statistics",
    "today",
]
