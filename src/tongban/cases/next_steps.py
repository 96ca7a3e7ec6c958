"""What happens next, per case state, in plain words: one sentence for the applicant (and
whoever filed for them) and one for the staff behind the counter, and who acts next.

A table, not code: every state of states.State has a row (tests/cases/test_next_steps.py fails
when one is missing), and the case page, the tracking page and anything else that shows a
state shows the same sentence. The sentences are gettext messages (English ids, translated
where they are shown).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from tongban.cases.states import State
from tongban.platform.web.rendering import N_


class Who(StrEnum):
    """Who has to do something next."""

    APPLICANT = "applicant"
    DEPARTMENT = "department"
    NOBODY = "nobody"


@dataclass(frozen=True)
class NextStep:
    """What happens next in one state, said to the applicant and to staff."""

    who: Who
    citizen: str
    staff: str


NEXT_STEPS: dict[State, NextStep] = {
    State.RECEIVED: NextStep(
        Who.DEPARTMENT,
        N_(
            "The department checks that your application is complete and decides by the "
            "acceptance date whether to take it on. You need to do nothing now."
        ),
        N_(
            "The deciding department checks the papers and accepts the case, asks for missing "
            "papers or does not accept it, by the acceptance date."
        ),
    ),
    State.ACCEPTED: NextStep(
        Who.DEPARTMENT,
        N_(
            "The department is handling your case and decides by the promised date. You need "
            "to do nothing now: you get a message when something changes."
        ),
        N_(
            "The deciding department examines the case and approves or refuses it before the "
            "promised date; co-handling departments mark their steps done."
        ),
    ),
    State.NOT_ACCEPTED: NextStep(
        Who.NOBODY,
        N_(
            "The department did not take on this application; the reason is given on this "
            "page. You can apply again with what was missing, or call the department."
        ),
        N_("Nothing more to do: the case is closed without a decision."),
    ),
    State.SUPPLEMENT_REQUESTED: NextStep(
        Who.APPLICANT,
        N_(
            "You supply the missing papers listed on this page. The clock is stopped until "
            "you do; then the department carries on."
        ),
        N_(
            "Waiting for the applicant to supply the missing papers; check each answer as it "
            "comes. The clock stays stopped until every line is answered."
        ),
    ),
    State.SPECIAL_PROCEDURE: NextStep(
        Who.DEPARTMENT,
        N_(
            "The department is doing extra steps the law allows, such as an expert review or "
            "a hearing. The clock is stopped and runs again when they end. You need to do "
            "nothing now."
        ),
        N_(
            "The deciding department finishes the special procedure and ends it by its "
            "expected end date; the clock then runs again."
        ),
    ),
    State.APPROVED: NextStep(
        Who.DEPARTMENT,
        N_(
            "Your application is approved. The department issues the result and completes "
            "the case; you get a message when it is ready."
        ),
        N_("The deciding department issues the result and completes the case."),
    ),
    State.REJECTED: NextStep(
        Who.DEPARTMENT,
        N_(
            "Your application was refused; the reasons are in the decision. The department "
            "completes the case. If you disagree, you can ask for an administrative review or "
            "go to court within the time the decision states."
        ),
        N_("The deciding department sends the decision with its reasons and completes the case."),
    ),
    State.COMPLETED: NextStep(
        Who.APPLICANT,
        N_(
            "Your case is finished. Collect or download the result, and tell us how the "
            "service was by rating it."
        ),
        N_("Nothing more to do. The applicant may rate the service."),
    ),
    State.WITHDRAWN: NextStep(
        Who.NOBODY,
        N_("You withdrew the application. Nothing more happens; you can apply again at any time."),
        N_("Nothing more to do: the applicant withdrew the application."),
    ),
    State.IN_PROGRESS: NextStep(
        Who.DEPARTMENT,
        N_(
            "Each department handles its own part of this application; the state of each part "
            "is listed on this page. You need to do nothing now unless a part asks you for "
            "papers."
        ),
        N_(
            "Each department handles its own part; the application is complete when every "
            "part is done."
        ),
    ),
    State.PARTIALLY_COMPLETED: NextStep(
        Who.NOBODY,
        N_(
            "Some parts of this application are finished and others were not accepted, "
            "refused or withdrawn; each part is listed on this page."
        ),
        N_("Nothing more to do on this application."),
    ),
}


def next_step(state: str) -> NextStep | None:
    """The row of a state, or None for a state the table does not know."""
    try:
        return NEXT_STEPS.get(State(state))
    except ValueError:
        return None


def sentences(gettext: Callable[[str], str]) -> dict[str, dict[str, str]]:
    """Every state's two sentences in one language ({state: {"citizen", "staff", "who"}}), for
    pages; `gettext` is the page's translate function."""
    return {
        state.value: {
            "citizen": gettext(row.citizen),
            "staff": gettext(row.staff),
            "who": row.who.value,
        }
        for state, row in NEXT_STEPS.items()
    }
