"""Reviews rules (好差评) as other domains use them: public statistics, the rectification
states, and overdue tasks as RectificationRead (never rows). The domain's own routes use
rules.py (ratings.py, rectify.py, stats.py).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tongban.reviews import rectify
from tongban.reviews.ratings import (
    APPEALED,
    BAD_LEVEL,
    FIXED,
    FOLLOWED_UP,
    OPEN,
    PENDING_STATES,
    RERATED,
    VOIDED,
)
from tongban.reviews.rectify import today
from tongban.reviews.schemas import RectificationRead
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
    "RectificationRead",
    "check_period",
    "overdue_rectifications",
    "region_prefix",
    "statistics",
    "today",
]


def overdue_rectifications(session: Session, *, limit: int = 100) -> list[RectificationRead]:
    """Open rectification tasks past their deadline, oldest deadline first."""
    tasks = []
    for row in rectify.overdue_rectifications(session, limit=limit):
        read = RectificationRead.model_validate(row)
        read.overdue = True
        tasks.append(read)
    return tasks
