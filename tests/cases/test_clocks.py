"""Working-day clocks across the Spring Festival 2026 and its 调休 Saturdays."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from tongban.cases import clocks
from tongban.cases.states import TRANSITIONS, Action, State, transition
from tongban.workdays.service import WorkingCalendar

CAL = WorkingCalendar()


def test_acceptance_deadline_across_the_spring_festival() -> None:
    # Received Friday 13 Feb 2026: Sat 14 Feb is a 调休 working day (1), 15-23 Feb holiday,
    # then 24, 25, 26, 27 Feb.
    d = clocks.deadlines(
        CAL,
        received=date(2026, 2, 13),
        acceptance_limit=5,
        acceptance_paused=(0, 0),
        accepted=None,
        case_type="承诺件",
        promised=(10, "working_days"),
        statutory=(15, "working_days"),
        handling_paused=(0, 0),
    )
    assert d.acceptance == date(2026, 2, 27)
    assert d.promised is None


def test_promised_deadline_counts_the_adjusted_saturday() -> None:
    # Accepted Thu 12 Feb: Fri 13 (1), Sat 14 调休 (2), holiday, 24 (3) ... 28 Feb Sat 调休 (7).
    due = clocks.limit_due(CAL, start=date(2026, 2, 12), value=7, unit="working_days")
    assert due == date(2026, 2, 28)
    assert CAL.is_workday(date(2026, 2, 28)) and not CAL.is_workday(date(2026, 2, 17))


def test_pause_over_the_holiday_adds_only_working_days() -> None:
    # Paused Thu 12 Feb to Wed 25 Feb: Fri 13, Sat 14, Tue 24, Wed 25 = 4 working days.
    assert clocks.pause_length(CAL, start=date(2026, 2, 12), end=date(2026, 2, 25)) == (4, 13)
    d = clocks.deadlines(
        CAL,
        received=date(2026, 2, 2),
        acceptance_limit=5,
        acceptance_paused=(0, 0),
        accepted=date(2026, 2, 3),
        case_type="承诺件",
        promised=(10, "working_days"),
        statutory=(20, "natural_days"),
        handling_paused=(4, 13),
    )
    # 14 working days from 3 Feb: 4,5,6,9,10,11,12,13,14(Sat),24,25,26,27,28(Sat).
    assert d.promised == date(2026, 2, 28)
    # Natural days: 3 Feb + 20 + 13 paused calendar days.
    assert d.statutory == date(2026, 3, 8)


def test_immediate_case_falls_on_the_next_working_day_when_accepted_on_a_holiday() -> None:
    d = clocks.deadlines(
        CAL,
        received=date(2026, 2, 16),
        acceptance_limit=5,
        acceptance_paused=(0, 0),
        accepted=date(2026, 2, 16),
        case_type="即办件",
        promised=(0, "working_days"),
        statutory=(1, "working_days"),
        handling_paused=(0, 0),
    )
    assert d.promised == d.statutory == date(2026, 2, 24)


def test_urgency_flags() -> None:
    due = date(2026, 2, 27)
    assert clocks.urgency(CAL, today=date(2026, 2, 13), due=due, warn_days=2) == "ok"
    assert clocks.urgency(CAL, today=date(2026, 2, 25), due=due, warn_days=2) == "due_soon"
    assert clocks.urgency(CAL, today=date(2026, 2, 28), due=due, warn_days=2) == "overdue"
    assert clocks.urgency(CAL, today=date(2026, 2, 28), due=None, warn_days=2) == "none"


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 1)),
    limit=st.integers(min_value=1, max_value=30),
    paused=st.integers(min_value=0, max_value=20),
)
def test_a_pause_never_shortens_a_deadline_and_lands_on_a_working_day(
    start: date, limit: int, paused: int
) -> None:
    base = clocks.limit_due(CAL, start=start, value=limit, unit="working_days")
    later = clocks.limit_due(
        CAL, start=start, value=limit, unit="working_days", paused_working_days=paused
    )
    assert later >= base and CAL.is_workday(later)
    assert CAL.working_days_between(start, later) == limit + paused


def test_transition_table_is_closed_and_terminal_states_are_final() -> None:
    for (state, action), move in TRANSITIONS.items():
        assert isinstance(state, State) and isinstance(action, Action)
        assert move.next_state == "resume" or move.next_state in set(State)
    for final in (State.COMPLETED, State.NOT_ACCEPTED, State.WITHDRAWN):
        assert all(transition(final, a) is None for a in Action)
    # Withdrawal is possible until the decision, never after.
    assert transition(State.ACCEPTED, Action.WITHDRAW) is not None
    assert transition(State.APPROVED, Action.WITHDRAW) is None
    assert transition("nonsense", "accept") is None
