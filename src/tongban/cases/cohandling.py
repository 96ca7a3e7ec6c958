"""Joint handling (联办) across nodes (issue #18): the co-handling steps of a case whose
co-handler is no department of this node, and such a step done on the co-handler's node.

Federation carries the step there and its result back; cases only says which steps wait for
another node, which steps were done here, and completes one on the word of the node serving
its region — under the same transition as a co-handling official's step (the case must be
accepted), recorded as `case.co-handle` with no actor and the node it came from.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tongban.cases import clocks
from tongban.cases.handling import get_case
from tongban.cases.states import Action, transition
from tongban.events import service as events
from tongban.platform.errors import Conflict, FieldError


def _step(step: Any) -> dict[str, Any]:
    return {
        "position": step.position,
        "authority_code": step.authority_code,
        "authority_name": step.authority_name,
        "region_code": step.region_code,
    }


def remote_steps(session: Session, *, number: str) -> list[dict[str, Any]]:
    """The pending steps no department of this node can do (another node's co-handler)."""
    case = get_case(session, number=number)
    return [_step(s) for s in case.steps if s.done_at is None and s.department_id is None]


def done_steps(session: Session, *, number: str) -> list[dict[str, Any]]:
    """The steps a department of this node has done, with their notes."""
    case = get_case(session, number=number)
    return [
        {**_step(s), "note": s.note, "done_at": s.done_at.isoformat()}
        for s in case.steps
        if s.done_at is not None and s.department_id is not None
    ]


def co_handled_remotely(
    session: Session, *, number: str, authority_code: str, note: str | None, from_node: str
) -> bool:
    """Complete a co-handling step its co-handler's node reports done (False: done before).
    A Conflict when the case is not where co-handling happens or has no such step."""
    case = get_case(session, number=number)
    step = next(
        (s for s in case.steps if s.authority_code == authority_code and s.department_id is None),
        None,
    )
    if step is None:
        raise Conflict(
            f"{number} has no co-handling step of {authority_code} for another node.",
            errors=[FieldError("step", authority_code)],
        )
    if step.done_at is not None:
        return False
    if transition(case.state, Action.CO_HANDLE) is None:
        raise Conflict(
            f"Cannot co-handle a case that is {case.state}.",
            errors=[FieldError("action", f"not allowed in state {case.state}")],
        )
    now = clocks.now()
    step.done_at = now
    step.note = note
    case.updated_at = now
    session.flush()
    events.record(
        session,
        action=f"case.{Action.CO_HANDLE.value}",
        resource_type="case",
        resource_id=case.number,
        channel=case.channel,
        data={
            "from": case.state,
            "to": case.state,
            "version": case.version,
            "due_date": case.due_date.isoformat() if case.due_date else None,
            "relayed_from": from_node,
            "step": authority_code,
        },
        private={"note": note} if note else None,
    )
    return True
