"""The case page's fetch button: an official handling a case fetches a shared paper now.

The form names the checklist material (the case page knows no resources); the resource that
stands in for it is looked up here. A fetch is the API's (exchange/fetch.py) with the same
checks; a refusal keeps its event, changes nothing else and is said in the reader's language.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path
from starlette.responses import Response

from tongban.consent import service as consent
from tongban.exchange import catalogue, fetch
from tongban.exchange.errors import ProviderUnavailable
from tongban.exchange.schemas import Sharing
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.db import uow
from tongban.platform.errors import AppError
from tongban.platform.web.deps import AppSettings, DbSession
from tongban.platform.web.rendering import N_, NOTICES

router = APIRouter()

NOTICES.update(
    data_fetched=N_("Obtained by data sharing: the record is on the case."),
    data_not_found=N_("The providing department holds no record of this applicant."),
)
# The purpose recorded with a fetch from the case page (beside its event, never in the leaf).
PURPOSE = "办理本件时共享核验（经办人员手动获取）"

# Refusal code -> what the official reads (the API's problem+json says it in English).
REFUSAL_TEXTS: dict[str, str] = {
    "no-case": N_("A fetch is always for a case."),
    "unknown-case": N_("This case is not handled by your department."),
    "case-closed": N_("The case is closed: data is fetched only while it is handled."),
    "unknown-resource": N_("No data resource stands in for this paper."),
    "unknown-field": N_("The resource has no such field."),
    "not-shared": N_("This data is not shared (不予共享): ask the applicant for the paper."),
    "no-agreement": N_("Your department has no sharing agreement for this data."),
    "revoked": N_("The sharing agreement for this data was revoked."),
    "expired": N_("The sharing agreement for this data has expired."),
    "item-not-covered": N_("The sharing agreement does not cover this service."),
    "field-not-agreed": N_("The sharing agreement does not cover all these fields."),
    "no-subject": N_("No resident ID is on record for the applicant."),
    "provider-unavailable": N_(
        "The providing department did not answer. Nothing was changed: try again later."
    ),
    # Fetches queued at acceptance (automatic.py) only.
    "official-gone": N_(
        "The official who accepted the case can no longer fetch data: fetch it by hand."
    ),
    "internal-error": N_("The fetch failed because of an error. Nothing was changed: try again."),
}
REFUSAL_TEXTS.update(consent.REFUSAL_TEXTS)


def _resource_for(session: DbSession, material: str) -> str | None:
    """The code of the shared resource standing in for a checklist material."""
    for resource in catalogue.list_resources(session):
        if resource.sharing != Sharing.NONE.value and material in resource.materials:
            return str(resource.code)
    return None


@router.post("/cases/{number}/data-fetch")
def fetch_from_case_page(
    number: Annotated[str, Path(max_length=40)],
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    material: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Fetch the paper now; back to the case, or a page saying why not (nothing changed)."""
    actor = ui.require_actor()
    identity.authorize(actor, "exchange.fetch")  # the role first: a plain 403 page
    code = _resource_for(session, material.strip())
    refusal = "unknown-resource"
    status = 422
    if code is not None:
        step = uow.savepoint(session)
        try:
            row = fetch.fetch_for_case(
                session,
                actor=actor,
                case_number=number,
                resource_code=code,
                fields=None,
                purpose=PURPOSE,
                settings=settings,
            )
        except ProviderUnavailable as exc:
            step.keep()  # the refusal event stays
            refusal, status = "provider-unavailable", exc.status
        except AppError as exc:
            step.keep()
            refusal = getattr(exc, "refusal", "unknown-case")
            status = exc.status
        else:
            step.keep()
            notice = "data_fetched" if row.found else "data_not_found"
            return ui.redirect(f"/cases/{number}", notice=notice)
    return ui.render(
        "exchange/fetch_refused.html",
        title=ui.gettext("The data could not be fetched"),
        number=number,
        material=material,
        message=ui.gettext(REFUSAL_TEXTS.get(refusal, REFUSAL_TEXTS["unknown-case"])),
        status_code=status,
    )
