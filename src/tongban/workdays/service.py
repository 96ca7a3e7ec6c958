"""Calendar rules: the working calendar with operator overrides, and managing them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.db import utcnow
from tongban.errors import FieldError, Invalid
from tongban.events import service as events
from tongban.workdays.calendar import WorkingCalendar
from tongban.workdays.models import CalendarDay

__all__ = ["WorkingCalendar", "load_calendar", "set_day"]


def load_calendar(session: Session) -> WorkingCalendar:
    """The working calendar with every operator override applied."""
    rows = session.execute(select(CalendarDay.day, CalendarDay.is_workday)).all()
    return WorkingCalendar({row.day: row.is_workday for row in rows})


def set_day(
    session: Session,
    *,
    day: date,
    is_workday: bool,
    name: str = "",
    actor_id: int | None = None,
    channel: str = "cli",
) -> CalendarDay:
    """Declare one date a working day or a day off (e.g. next year's holidays)."""
    if len(name) > 64:
        raise Invalid("Name too long.", errors=[FieldError("name", "at most 64 characters")])
    entry = session.get(CalendarDay, day)
    if entry is None:
        entry = CalendarDay(day=day, is_workday=is_workday, name=name, created_at=utcnow())
        session.add(entry)
    else:
        entry.is_workday = is_workday
        entry.name = name
    session.flush()
    events.record(
        session,
        action="calendar.day_set",
        resource_type="calendar_day",
        resource_id=day.isoformat(),
        channel=channel,
        actor_id=actor_id,
        data={"is_workday": is_workday, "name": name},
    )
    return entry
