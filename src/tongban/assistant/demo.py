"""Demo data of the assistant: questions citizens asked that found nothing, as the operators'
page shows them (anonymised the same way), so that `tongban demo` has something to teach."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.assistant.models import Unanswered
from tongban.assistant.service import anonymise
from tongban.platform.db import utcnow

# (question as asked, region, times asked): none of them is in the seed catalog's words.
QUESTIONS = (
    ("娃娃证去哪里领，我叫李小梅，电话13912345678", "511602", 3),
    ("农村的宅基地证怎么办", "511602", 2),
    ("老房子拆迁补偿款什么时候发", "510107", 1),
    ("驾校学车报名在哪里", "440305", 1),
)


def load_demo(session: Session) -> dict[str, int]:
    """The demo's unanswered questions, once (nothing when the table has rows)."""
    if session.scalar(select(func.count()).select_from(Unanswered)):
        return {"assistant_unanswered": 0}
    now = utcnow()
    for n, (text, region, count) in enumerate(QUESTIONS):
        when = now - timedelta(hours=3 * n + 1)
        session.add(
            Unanswered(
                text=anonymise(text),
                region_code=region,
                count=count,
                first_at=when - timedelta(days=count),
                last_at=when,
            )
        )
    session.flush()
    return {"assistant_unanswered": len(QUESTIONS)}
