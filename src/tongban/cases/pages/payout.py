"""The applicant confirms, on their case page, the payout account a relative gave when filing
for them (cases/payout.py)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from tongban.cases import handling, payout
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.web.deps import DbSession
from tongban.platform.web.rendering import N_, NOTICES

router = APIRouter()

NOTICES.update(payout_confirmed=N_("Thank you: the payout account is confirmed."))


@router.post("/cases/{number}/confirm-payout")
def confirm_payout_page(number: str, ui: PageUi, session: DbSession) -> Response:
    """Confirm the payout account; the department may then decide the case."""
    actor = ui.require_actor()
    case = handling.get_case(session, number=number)
    handling.authorize_read(session, actor=actor, case=case)  # unseen cases are 404
    identity.authorize(actor, "case.confirm_payout", {"owner_id": case.applicant_id})
    payout.confirm_payout(session, case=case, actor=actor)
    return ui.redirect(f"/cases/{number}", notice="payout_confirmed")
