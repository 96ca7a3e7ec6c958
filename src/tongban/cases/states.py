"""The case state machine as one table: (state, action) -> (next state, roles, clock effect).

States follow the provincial platforms (domain.md §2). `accepted` is "in handling" (部门开始办理).
Resource checks (which official, whose case) are made in handling.py on top of the roles here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    """Where a case stands."""

    RECEIVED = "received"  # 已接件: waiting for the acceptance decision
    ACCEPTED = "accepted"  # 已受理: in handling
    NOT_ACCEPTED = "not_accepted"  # 不予受理
    SUPPLEMENT_REQUESTED = "supplement_requested"  # 补正: clock paused
    SPECIAL_PROCEDURE = "special_procedure"  # 特别程序: clock paused
    APPROVED = "approved"  # decided: granted
    REJECTED = "rejected"  # decided: refused
    COMPLETED = "completed"  # 办结
    WITHDRAWN = "withdrawn"  # 撤回 by the applicant
    # Bundle parents (一件事) only: derived from their sub-cases, never acted on directly.
    IN_PROGRESS = "in_progress"
    PARTIALLY_COMPLETED = "partially_completed"


class Action(StrEnum):
    """What someone does to a case (the URL segment of /actions/{action})."""

    ACCEPT = "accept"
    REFUSE = "refuse"
    REQUEST_SUPPLEMENT = "request-supplement"
    SUPPLEMENT = "supplement"
    REVIEW_SUPPLEMENT = "review-supplement"
    START_SPECIAL = "start-special"
    END_SPECIAL = "end-special"
    CO_HANDLE = "co-handle"
    APPROVE = "approve"
    REJECT = "reject"
    COMPLETE = "complete"
    WITHDRAW = "withdraw"


class Clock(StrEnum):
    """What a transition does to the case's clocks."""

    NONE = "none"
    START = "start"  # acceptance: the promised and statutory clocks start
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


class Party(StrEnum):
    """Who may take a transition, before the resource checks."""

    AUTHORITY = "authority"  # an official of the competent department, in jurisdiction
    CO_HANDLER = "co_handler"  # an official of a co-handling department with a pending step
    APPLICANT = "applicant"  # the applicant, their proxy, or the clerk who filed it


# A transition whose next state is RESUME goes back to the state before the pause.
RESUME = "resume"


@dataclass(frozen=True)
class Transition:
    """One allowed move."""

    next_state: str
    parties: frozenset[Party]
    clock: Clock


_AUTH = frozenset({Party.AUTHORITY})
_APPL = frozenset({Party.APPLICANT})
_CO = frozenset({Party.CO_HANDLER})

TRANSITIONS: dict[tuple[State, Action], Transition] = {
    (State.RECEIVED, Action.ACCEPT): Transition(State.ACCEPTED, _AUTH, Clock.START),
    (State.RECEIVED, Action.REFUSE): Transition(State.NOT_ACCEPTED, _AUTH, Clock.STOP),
    (State.RECEIVED, Action.REQUEST_SUPPLEMENT): Transition(
        State.SUPPLEMENT_REQUESTED, _AUTH, Clock.PAUSE
    ),
    (State.RECEIVED, Action.WITHDRAW): Transition(State.WITHDRAWN, _APPL, Clock.STOP),
    # 补正 answered item by item: the clock resumes only once every line is answered (a file,
    # or an explanation the official accepted); until then the case stays where it is.
    (State.SUPPLEMENT_REQUESTED, Action.SUPPLEMENT): Transition(RESUME, _APPL, Clock.RESUME),
    (State.SUPPLEMENT_REQUESTED, Action.REVIEW_SUPPLEMENT): Transition(RESUME, _AUTH, Clock.RESUME),
    (State.SUPPLEMENT_REQUESTED, Action.WITHDRAW): Transition(State.WITHDRAWN, _APPL, Clock.STOP),
    (State.ACCEPTED, Action.REQUEST_SUPPLEMENT): Transition(
        State.SUPPLEMENT_REQUESTED, _AUTH, Clock.PAUSE
    ),
    (State.ACCEPTED, Action.START_SPECIAL): Transition(State.SPECIAL_PROCEDURE, _AUTH, Clock.PAUSE),
    (State.ACCEPTED, Action.CO_HANDLE): Transition(State.ACCEPTED, _CO, Clock.NONE),
    (State.ACCEPTED, Action.APPROVE): Transition(State.APPROVED, _AUTH, Clock.STOP),
    (State.ACCEPTED, Action.REJECT): Transition(State.REJECTED, _AUTH, Clock.STOP),
    (State.ACCEPTED, Action.WITHDRAW): Transition(State.WITHDRAWN, _APPL, Clock.STOP),
    (State.SPECIAL_PROCEDURE, Action.END_SPECIAL): Transition(RESUME, _AUTH, Clock.RESUME),
    (State.SPECIAL_PROCEDURE, Action.WITHDRAW): Transition(State.WITHDRAWN, _APPL, Clock.STOP),
    (State.APPROVED, Action.COMPLETE): Transition(State.COMPLETED, _AUTH, Clock.NONE),
    (State.REJECTED, Action.COMPLETE): Transition(State.COMPLETED, _AUTH, Clock.NONE),
}

# States in which a case waits for someone and carries a live deadline.
OPEN_STATES = frozenset(
    {
        State.RECEIVED,
        State.ACCEPTED,
        State.SUPPLEMENT_REQUESTED,
        State.SPECIAL_PROCEDURE,
        State.APPROVED,
        State.REJECTED,
    }
)
PAUSED_STATES = frozenset({State.SUPPLEMENT_REQUESTED, State.SPECIAL_PROCEDURE})
# A case that reached one of these will never move again.
FINAL_STATES = frozenset(
    {State.NOT_ACCEPTED, State.COMPLETED, State.WITHDRAWN, State.PARTIALLY_COMPLETED}
)


def transition(state: str, action: str) -> Transition | None:
    """The allowed move for this action in this state, or None."""
    try:
        return TRANSITIONS.get((State(state), Action(action)))
    except ValueError:
        return None


def actions_from(state: str) -> list[str]:
    """Actions the table allows in this state (for clients to show buttons)."""
    return [a.value for (s, a) in TRANSITIONS if s.value == state]
