"""Payout accounts given by an agent (亲友代办) wait for the applicant's own confirmation.

A relative acting under a proxy may file for an elderly parent, but where the parent's pension,
subsidy or refund is paid is the parent's decision: when an agent's form names a payout account,
the case is received as usual but cannot be accepted, approved or completed until the applicant
confirms the account on their case page (or the API). The applicant is told by SMS and in-app
that a relative filed (cases/notify.py).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tongban.cases.models import Case
from tongban.cases.states import Action
from tongban.events import service as events
from tongban.identity import service as identity
from tongban.platform.errors import Conflict, Forbidden

# The form fields that say where money is paid (the seed catalog's 收款银行账号, 津贴发放账号).
PAYOUT_FIELDS = ("bank_account", "payout_account")
# What waits for the confirmation: deciding the case.
HELD_ACTIONS = frozenset({Action.ACCEPT, Action.APPROVE, Action.COMPLETE})


def check_not_held(case: Case, action: Action) -> None:
    """Conflict when the action decides a case whose payout account is not confirmed yet."""
    if case.payout_pending and action in HELD_ACTIONS:
        raise Conflict(
            "The applicant has not yet confirmed the payout account their agent gave; "
            "the case waits for them."
        )


def confirm_payout(session: Session, *, case: Case, actor: identity.Actor) -> Case:
    """The applicant, themself (not an agent), confirms the payout account on their case."""
    if case.applicant_id is None or actor.account_id != case.applicant_id:
        raise Forbidden("Only the applicant themself confirms where their money is paid.")
    if not case.payout_pending:
        return case
    case.payout_pending = False
    session.flush()
    events.record(
        session,
        action="case.payout_confirmed",
        resource_type="case",
        resource_id=case.number,
        channel="online",
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        data={},
    )
    return case
