"""JSON route of the applicant's confirmation of a payout account their agent gave
(cases/payout.py)."""

from __future__ import annotations

from fastapi import APIRouter

from tongban.cases import handling, payout, queries
from tongban.cases.schemas import CaseRead
from tongban.identity import service as identity
from tongban.identity.deps import CurrentActor
from tongban.platform.web.deps import AppSettings, DbSession

router = APIRouter(tags=["cases"])


@router.post("/cases/{number}/confirm-payout", response_model=CaseRead)
def confirm_payout(
    number: str, session: DbSession, actor: CurrentActor, settings: AppSettings
) -> CaseRead:
    """The applicant confirms the payout account (收款账号) a relative gave when filing for
    them; until then the case cannot be accepted, approved or completed. A login session only:
    where money goes is never decided with an API token."""
    case = handling.get_case(session, number=number)
    handling.authorize_read(session, actor=actor, case=case)  # unseen cases are 404
    identity.authorize(actor, "case.confirm_payout", {"owner_id": case.applicant_id})
    payout.confirm_payout(session, case=case, actor=actor)
    return queries.describe_case(session, actor=actor, case=case, settings=settings)
