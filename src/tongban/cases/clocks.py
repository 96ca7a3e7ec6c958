"""Working-day clocks of a case, counted in Asia/Shanghai dates.

A limit runs from a start date (the start day itself not counted). Every pause adds the working
days (or, for natural-day limits, the calendar days) it lasted, so the deadline is "the date on
which the limit plus the paused days runs out": the applicant never loses time to a pause.
A pause from day s to day e counts the days in (s, e]: the official worked on the pausing day,
and the day material arrives is the applicant's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tongban.platform.db import utcnow
from tongban.workdays.service import WorkingCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
WORKING_DAYS = "working_days"
NATURAL_DAYS = "natural_days"
IMMEDIATE = "即办件"


def now() -> datetime:
    """The current UTC time; the one clock of the cases domain (tests may move it)."""
    return utcnow()


def local_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of a UTC moment."""
    return moment.astimezone(SHANGHAI).date()


def limit_due(
    calendar: WorkingCalendar,
    *,
    start: date,
    value: int,
    unit: str,
    paused_working_days: int = 0,
    paused_natural_days: int = 0,
) -> date:
    """The last day of a limit started on `start`, extended by the paused days."""
    if unit == NATURAL_DAYS:
        return start + timedelta(days=value + paused_natural_days)
    return calendar.add_working_days(start, value + paused_working_days)


def pause_length(calendar: WorkingCalendar, *, start: date, end: date) -> tuple[int, int]:
    """(working days, natural days) a pause from `start` to `end` lasted."""
    return calendar.working_days_between(start, end), max((end - start).days, 0)


@dataclass(frozen=True)
class Deadlines:
    """The three deadlines of a case (None when not started)."""

    acceptance: date
    promised: date | None
    statutory: date | None


def deadlines(
    calendar: WorkingCalendar,
    *,
    received: date,
    acceptance_limit: int,
    acceptance_paused: tuple[int, int],
    accepted: date | None,
    case_type: str,
    promised: tuple[int, str],
    statutory: tuple[int, str],
    handling_paused: tuple[int, int],
) -> Deadlines:
    """Compute every deadline from the dates, limits and pauses so far."""
    acceptance = limit_due(
        calendar,
        start=received,
        value=acceptance_limit,
        unit=WORKING_DAYS,
        paused_working_days=acceptance_paused[0],
    )
    if accepted is None:
        return Deadlines(acceptance, None, None)
    if case_type == IMMEDIATE:
        # 即办件: decided and completed on the working day of acceptance.
        same_day = accepted if calendar.is_workday(accepted) else calendar.next_workday(accepted)
        return Deadlines(acceptance, same_day, same_day)
    pw, pn = handling_paused
    return Deadlines(
        acceptance,
        limit_due(
            calendar,
            start=accepted,
            value=promised[0],
            unit=promised[1],
            paused_working_days=pw,
            paused_natural_days=pn,
        ),
        limit_due(
            calendar,
            start=accepted,
            value=statutory[0],
            unit=statutory[1],
            paused_working_days=pw,
            paused_natural_days=pn,
        ),
    )


def urgency(calendar: WorkingCalendar, *, today: date, due: date | None, warn_days: int) -> str:
    """'overdue', 'due_soon' (within `warn_days` working days) or 'ok' ('none' without a due)."""
    if due is None:
        return "none"
    if today > due:
        return "overdue"
    if calendar.working_days_between(today, due) <= warn_days:
        return "due_soon"
    return "ok"


def shift(day: date, days: int) -> date:
    """A date `days` calendar days later (helper for tests and benches)."""
    return day + timedelta(days=days)
