"""Working-day arithmetic across the Spring Festival and 调休 Saturdays."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tongban.workdays import service as workdays
from tongban.workdays.calendar import WorkingCalendar

CAL = WorkingCalendar()


def test_spring_festival_2026_is_off_and_adjusted_saturdays_work() -> None:
    # 2026 Spring Festival: 15-23 February off; Saturday 14 and 28 February are working days.
    assert not CAL.is_workday(date(2026, 2, 17))
    assert not CAL.is_workday(date(2026, 2, 23))
    assert CAL.is_workday(date(2026, 2, 14))  # a Saturday, 调休
    assert CAL.is_workday(date(2026, 2, 28))  # a Saturday, 调休
    assert CAL.is_workday(date(2026, 10, 10))  # a Saturday after National Day, 调休


def test_limit_spanning_the_spring_festival() -> None:
    # Accepted Friday 13 Feb 2026: day 1 is Saturday 14 (调休), then the holiday, then 24 Feb.
    assert CAL.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert CAL.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert CAL.add_working_days(date(2026, 2, 13), 5) == date(2026, 2, 27)
    assert CAL.add_working_days(date(2026, 2, 13), 6) == date(2026, 2, 28)


def test_national_day_2026() -> None:
    # 1-7 October off, Sunday 20 September and Saturday 10 October worked.
    assert CAL.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3


def test_zero_days_is_same_day_when_working() -> None:
    assert CAL.add_working_days(date(2026, 3, 2), 0) == date(2026, 3, 2)
    assert CAL.add_working_days(date(2026, 2, 17), 0) == date(2026, 2, 24)


def test_uncovered_year_is_provisional_until_an_operator_loads_it() -> None:
    assert CAL.is_provisional(date(2031, 1, 1))
    assert not CAL.is_workday(date(2031, 1, 1))  # a Wednesday, but 元旦 is on a fixed date
    assert CAL.is_workday(date(2031, 1, 2))  # weekdays assumed
    assert not CAL.is_workday(date(2031, 10, 3))  # 国庆节, fixed
    loaded = WorkingCalendar({date(2031, 1, 1): False})
    assert not loaded.is_provisional(date(2031, 6, 1))
    assert not loaded.is_workday(date(2031, 1, 1))


# No deadline: an example's work is bounded by the strategies (at most 60 working days, i.e. a
# few months of dates, walked twice: about 10 ms on an idle core), so Hypothesis' 200 ms
# wall-clock deadline measured only how busy the machine was. On two cores shared with the
# other xdist worker and PostgreSQL, an example descheduled for 200 ms failed the test as
# "Flaky" (slow once, fast on the rerun). A wrong calendar fails the assertions, not the clock.
@settings(deadline=None)
@given(st.dates(min_value=date(2005, 1, 1), max_value=date(2030, 12, 31)), st.integers(0, 60))
def test_add_and_count_are_inverse(start: date, days: int) -> None:
    end = CAL.add_working_days(start, days)
    assert CAL.working_days_between(start, end) == days or (days == 0 and end >= start)
    if days:
        assert CAL.is_workday(end)


def test_operator_override_persists_and_wins(db: Session) -> None:
    workdays.set_day(db, day=date(2030, 1, 2), is_workday=False, name="元旦(调整)")
    calendar = workdays.load_calendar(db)
    assert not calendar.is_workday(date(2030, 1, 2))
    workdays.set_day(db, day=date(2030, 1, 2), is_workday=True)
    assert workdays.load_calendar(db).is_workday(date(2030, 1, 2))
