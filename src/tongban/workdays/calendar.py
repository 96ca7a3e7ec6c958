"""Working-day arithmetic over the State Council's holiday arrangements.

The built-in data is the `chinesecalendar` package (holidays and adjusted working days, 调休,
as published each year). Operator entries (`calendar_days`) take precedence, so a node can load
next year's arrangement the day it is announced. For a year that neither covers, Monday to
Friday count as working days except the public holidays on fixed solar dates (元旦 1 January,
劳动节 1–2 May, 国庆节 1–3 October, per 《全国年节及纪念日放假办法》), and `is_provisional`
says so: lunar holidays (春节, 端午, 中秋) and 调休 are only known once published.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import chinese_calendar

_BUILTIN_FIRST = min(chinese_calendar.holidays).year
_BUILTIN_LAST = max(max(chinese_calendar.holidays), max(chinese_calendar.workdays)).year
_FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


class WorkingCalendar:
    """Answers "is this a working day" and counts working days, with operator overrides."""

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self._override_years = {d.year for d in self.overrides}

    def is_provisional(self, day: date) -> bool:
        """True when the day's year has no official arrangement loaded (weekdays assumed)."""
        covered = _BUILTIN_FIRST <= day.year <= _BUILTIN_LAST
        return not covered and day.year not in self._override_years

    def is_workday(self, day: date) -> bool:
        """Whether government offices work on this day."""
        if day in self.overrides:
            return self.overrides[day]
        if _BUILTIN_FIRST <= day.year <= _BUILTIN_LAST:
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS

    def add_working_days(self, start: date, days: int) -> date:
        """The date on which a limit of `days` working days, counted from the day after
        `start`, runs out (the start day itself does not count, as statutory limits do)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        if days == 0:
            return start if self.is_workday(start) else self.next_workday(start)
        current = start
        remaining = days
        while remaining:
            current += timedelta(days=1)
            if self.is_workday(current):
                remaining -= 1
        return current

    def next_workday(self, day: date) -> date:
        """The first working day strictly after `day`."""
        current = day + timedelta(days=1)
        while not self.is_workday(current):
            current += timedelta(days=1)
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many working days of a limit have been used."""
        if end <= start:
            return 0
        count = 0
        current = start
        while current < end:
            current += timedelta(days=1)
            if self.is_workday(current):
                count += 1
        return count
