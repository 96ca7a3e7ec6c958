"""The service-point desk (代收代办): the clerk checks the applicant, finds the service,
files for them and prints the receipt."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.datastructures import UploadFile as FormFile
from starlette.responses import Response

from tongban.cases import intake
from tongban.cases import service as cases
from tongban.cases.pages.common import (
    MATERIAL_MISSING,
    _check_fields,
    _desk_applicant,
    _forget_desk_applicant,
    _form_fields,
    _keep_desk_applicant,
    _labels,
    _materials_needed,
    _store_upload,
    licence_lines,
)
from tongban.cases.schemas import ApplicantIn, CaseCreate, LicenceRef, MaterialRef
from tongban.catalog import service as catalog
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.db import uow
from tongban.platform.errors import (
    Forbidden,
    Invalid,
)
from tongban.platform.web.deps import AppSettings, DbSession, PostedForm
from tongban.platform.web.rendering import FormState, Ui

router = APIRouter()

# --- clerk: the service-point desk ------------------------------------------------------------


def _require_clerk(ui: Ui) -> identity.Actor:
    actor = ui.require_actor()
    if actor.role != identity.Role.CLERK:
        raise Forbidden("The desk is for service-point clerks.")
    return actor


@router.get("/desk")
def desk_page(request: Request, ui: PageUi) -> Response:
    """Step 1: find the citizen and check their ID card."""
    actor = _require_clerk(ui)
    applicant = _desk_applicant(request, actor)
    form = ui.restored_form() or FormState(
        values={k: str(v) for k, v in applicant.items() if k != "confirmed"}
    )
    return ui.render(
        "cases/desk.html", title=ui.gettext("Service desk"), form=form, applicant=applicant
    )


@router.post("/desk")
def desk_applicant(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    resident_id: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    """Check the applicant's ID number and name; remember them for this clerk, briefly."""
    actor = _require_clerk(ui)
    form = FormState(
        values={"resident_id": resident_id, "name": name, "phone": phone, "confirmed": confirmed}
    )
    try:
        number = identity.validate_resident_id(resident_id.strip())
    except Invalid as exc:
        ui.form_errors(form, exc)
        number = ""
    if not name.strip():
        form.add("name", ui.gettext("Enter the applicant's name as on the ID card."))
    if phone.strip():
        try:
            identity.validate_phone(phone.strip())
        except Invalid as exc:
            ui.form_errors(form, exc)
    if confirmed != "1":
        form.add("confirmed", ui.gettext("Check the ID card and confirm it."))
    if form.has_errors:
        return ui.render(
            "cases/desk.html",
            title=ui.gettext("Service desk"),
            form=form,
            applicant={},
            status_code=422,
        )
    account = identity.find_account_by_resident_id(session, resident_id=number, settings=settings)
    response = ui.redirect("/desk/service", notice="applicant_ready")
    _keep_desk_applicant(
        ui.request,
        response,
        actor,
        {
            "resident_id": number,
            "name": name.strip(),
            "phone": phone.strip(),
            "confirmed": True,
            "registered": account is not None,
        },
    )
    return response


@router.post("/desk/clear")
def desk_clear(ui: PageUi) -> Response:
    """Forget the applicant (next citizen)."""
    _require_clerk(ui)
    response = ui.redirect("/desk")
    _forget_desk_applicant(response)
    return response


@router.get("/desk/service")
def desk_service(request: Request, ui: PageUi, session: DbSession, q: str = "") -> Response:
    """Step 2: choose the service and the competent authority's implementation."""
    actor = _require_clerk(ui)
    applicant = _desk_applicant(request, actor)
    if not applicant:
        return ui.redirect("/desk")
    hits: list[Any] = []
    form = FormState(values={"q": q})
    if q.strip():
        try:
            found, _total = catalog.search_items(session, q=q, limit=10)
            hits = [catalog.get_item(session, code=h.code) for h in found]
            # The applicant's 户籍 (their resident ID's county) first, then this service point.
            wanted = catalog.places(str(applicant.get("resident_id", ""))[:6], actor.service_point)
            hits = [
                d.model_copy(
                    update={"implementations": catalog.order_by_place(d.implementations, wanted)}
                )
                for d in hits
            ]
        except Invalid as exc:
            ui.form_errors(form, exc)
    return ui.render(
        "cases/desk_service.html",
        title=ui.gettext("Choose the service"),
        form=form,
        q=q,
        hits=hits,
        applicant=applicant,
    )


def _desk_apply_page(
    ui: Ui,
    session: DbSession,
    code: str,
    form: FormState,
    applicant: dict[str, Any],
    status_code: int = 200,
) -> Response:
    impl = catalog.get_implementation(session, code=code)
    needed = _materials_needed(impl)
    return ui.render(
        "cases/desk_apply.html",
        title=ui.gettext("Apply for the citizen"),
        form=form,
        impl=impl,
        fields=_form_fields(impl),
        needed=needed,
        # 免证办 at the desk: the lines an e-licence the citizen shows can stand in for.
        by_licence=licence_lines([m.name for m in needed]),
        applicant=applicant,
        status_code=status_code,
    )


@router.get("/desk/apply/{code}")
def desk_apply(code: str, request: Request, ui: PageUi, session: DbSession) -> Response:
    """Step 3: fill the form and attach the papers for the citizen."""
    applicant = _desk_applicant(request, _require_clerk(ui))
    if not applicant:
        return ui.redirect("/desk")
    form = ui.restored_form() or FormState()
    return _desk_apply_page(ui, session, code, form, applicant)


@router.post("/desk/apply/{code}")
def desk_apply_submit(
    code: str,
    request: Request,
    ui: PageUi,
    session: DbSession,
    posted: PostedForm,
    settings: AppSettings,
) -> Response:
    """Submit on the citizen's behalf (代收代办), then show the receipt to print."""
    actor = _require_clerk(ui)
    applicant = _desk_applicant(request, actor)
    if not applicant:
        return ui.redirect("/desk")
    impl = catalog.get_implementation(session, code=code)
    values = {k: v for k, v in posted.items() if isinstance(v, str)}
    form = FormState.of(values.items())
    typed = _check_fields(
        ui, impl, {k[5:]: v for k, v in values.items() if k.startswith("form.")}, form
    )
    refs: list[MaterialRef] = []
    licences: list[LicenceRef] = []
    shown_at: list[int] = []
    needed = _materials_needed(impl)
    by_licence = licence_lines([m.name for m in needed])
    for index, material in enumerate(needed):
        upload = posted.get(f"file{index}")
        shown = values.get(f"licence{index}", "").strip()
        if material.name in by_licence and values.get(f"use_licence{index}") == "1":
            # The citizen shows an e-licence from their 卡包: verified at submission.
            if not shown:
                form.add(f"licence{index}", ui.gettext("Paste the e-licence or its link."))
            elif len(shown) > 8000:
                form.add(f"licence{index}", ui.gettext("This is not an e-licence."))
            else:
                licences.append(LicenceRef(material=material.name, presented=shown))
                shown_at.append(index)
        elif isinstance(upload, FormFile) and upload.filename:
            sha = _store_upload(ui, session, settings, upload, form, f"file{index}")
            if sha:
                refs.append(MaterialRef(name=material.name, sha256=sha))
        elif material.required == "yes":
            form.add(f"file{index}", ui.gettext(MATERIAL_MISSING))
    if form.has_errors:
        return _desk_apply_page(ui, session, code, form, applicant, 422)
    data = CaseCreate(
        implementation=code,
        form=typed,
        materials=refs,
        licences=licences,
        applicant=ApplicantIn(
            resident_id=str(applicant.get("resident_id", "")),
            name=str(applicant.get("name", "")),
            phone=str(applicant["phone"]) if applicant.get("phone") else None,
            identity_confirmed=bool(applicant.get("confirmed")),
        ),
    )
    try:
        with uow.attempt(session):
            case, _created = intake.submit(session, actor=actor, data=data, settings=settings)
    except Invalid as exc:
        if any(error.field == "licences" for error in exc.errors):
            # The verifier's reason, by the e-licence it is about.
            where = f"licence{shown_at[0]}" if len(shown_at) == 1 else "form"
            form.add(where, ui.gettext(exc.detail))
        else:
            ui.form_errors(form, exc)
        return _desk_apply_page(ui, session, code, form, applicant, 422)
    response = ui.redirect(f"/cases/{case.number}/receipt", notice="submitted")
    _forget_desk_applicant(response)
    return response


@router.get("/desk/cases")
def desk_cases(ui: PageUi, session: DbSession, settings: AppSettings) -> Response:
    """The cases this clerk filed at the service point, and where they stand."""
    actor = _require_clerk(ui)
    page = cases.my_cases(session, actor=actor, settings=settings, limit=50)
    return ui.render(
        "cases/desk_cases.html",
        title=ui.gettext("Cases of this point"),
        items=page.items,
        **_labels(ui),
    )
