"""The steps of a GovStack task: which one is open on a case, and task ids (issue #21)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.govstack.clients import (
    _OPEN_IN,
)
from tongban.govstack.models import (
    GovstackApplication,
    GovstackTaskId,
)


def _open_step(case: cases.CaseView) -> str | None:
    for step, states in _OPEN_IN.items():
        if case.state in (states if isinstance(states, tuple) else (states,)):
            return step
    return None


def _chosen_ids(session: Session, numbers: list[str]) -> dict[tuple[str, str], str]:
    """The task ids GovStack chose (the samples') for steps of these cases, 500 to a query."""
    chosen: dict[tuple[str, str], str] = {}
    for start in range(0, len(numbers), 500):
        stmt = select(GovstackTaskId).where(
            GovstackTaskId.case_number.in_(numbers[start : start + 500])
        )
        for row in session.scalars(stmt):
            chosen[(row.case_number, row.step)] = row.task_id
    return chosen


def _task_id(
    session: Session, number: str, step: str, chosen: dict[tuple[str, str], str] | None = None
) -> str:
    """The task's id: the one GovStack chose for this step, else `{case number}.{step}`."""
    if chosen is None:
        chosen = _chosen_ids(session, [number])
    return chosen.get((number, step)) or f"{number}.{step}"


def _with_cases(
    session: Session, rows: Sequence[GovstackApplication]
) -> tuple[list[tuple[GovstackApplication, cases.CaseView]], dict[tuple[str, str], str]]:
    """The files with their cases, and the chosen task ids of those cases: a few queries."""
    numbers = [row.case_number for row in rows]
    found = cases.get_cases(session, numbers=numbers)
    return [(row, found[row.case_number]) for row in rows], _chosen_ids(session, numbers)
