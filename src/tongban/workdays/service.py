"""Calendar rules: the working calendar with operator overrides, and managing them."""

from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.platform.db import utcnow
from tongban.platform.db.facts import SharedFact
from tongban.platform.errors import FieldError, Invalid
from tongban.workdays.calendar import WorkingCalendar
from tongban.workdays.models import CalendarDay

__all__ = ["WorkingCalendar", "load_calendar", "set_day"]


class _MemoCalendar(WorkingCalendar):
    """A calendar shared by the requests of a process: is_workday is remembered per date.

    chinese_calendar's lookup is the costly part of every deadline; a calendar built from the
    same operator entries always answers the same, so the answers can be kept.
    """

    def __init__(self, overrides: dict[date, bool]) -> None:
        super().__init__(overrides)
        self._days: dict[date, bool] = {}

    def is_workday(self, day: date) -> bool:
        """Whether government offices work on this day (remembered)."""
        known = self._days.get(day)
        if known is None:
            known = super().is_workday(day)
            if len(self._days) < _MEMO_DAYS:
                self._days[day] = known
        return known


_MEMO_DAYS = 50_000  # > a century of dates: bounds memory whatever dates callers ask about
_CALENDARS_KEPT = 4
# Calendars by their operator entries: a calendar built from the same entries is reused, with
# the answers it has memoised. How often the entries are read: CALENDAR below (a shared fact).
_calendars: dict[tuple[tuple[date, bool], ...], _MemoCalendar] = {}
_calendars_lock = threading.Lock()


def load_calendar(session: Session) -> WorkingCalendar:
    """The working calendar with every operator override applied (tongban.platform.db.facts)."""
    return CALENDAR.get(session)


def _calendar_of(session: Session) -> WorkingCalendar:
    rows = session.connection().execute(select(CalendarDay.day, CalendarDay.is_workday)).all()
    key = tuple(sorted((row.day, bool(row.is_workday)) for row in rows))
    calendar = _calendars.get(key)
    if calendar is None:
        calendar = _MemoCalendar(dict(key))
        with _calendars_lock:
            if len(_calendars) >= _CALENDARS_KEPT:
                _calendars.clear()
            _calendars[key] = calendar
    return calendar


CALENDAR = SharedFact("working_calendar", _calendar_of)


def set_day(
    session: Session,
    *,
    day: date,
    is_workday: bool,
    name: str = "",
    actor_id: int | None = None,
    channel: str = "cli",
) -> None:
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
    CALENDAR.changed(session)
    events.record(
        session,
        action="calendar.day_set",
        resource_type="calendar_day",
        resource_id=day.isoformat(),
        channel=channel,
        actor_id=actor_id,
        data={"is_workday": is_workday},
        # The day's name is text an operator wrote: kept out of the public leaf.
        private={"name": name} if name else None,
    )
