"""The citizen applies online in three steps: details, papers, check and send (the draft is
kept on the server for the account, never in the browser: cases/drafts.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import Response

from tongban.cases import drafts, intake
from tongban.cases.pages.common import (
    MATERIAL_MISSING,
    _check_fields,
    _draft,
    _forget_old_draft_cookie,
    _form_fields,
    _materials_needed,
    _store_upload,
    licence_offers,
    shared_resources,
)
from tongban.cases.schemas import CaseCreate, LicenceRef, MaterialRef
from tongban.catalog import service as catalog
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.db import uow
from tongban.platform.errors import (
    Invalid,
)
from tongban.platform.web.deps import AppSettings, DbSession, PostedForm
from tongban.platform.web.rendering import FormState, Ui

router = APIRouter()

# --- citizen: apply in steps -----------------------------------------------------------------


def _principals(session: DbSession, actor: identity.Actor) -> list[tuple[str, str]]:
    """Whom this citizen may apply for: themself and those who authorised them (代办)."""
    options: list[tuple[str, str]] = []
    for row in identity.list_proxies(session, agent_id=actor.account_id, include_inactive=False):
        if identity.proxy_status(row) == "active":
            account = identity.get_account(session, account_id=row.principal_id)
            options.append((str(account.id), account.display_name))
    return options


def _apply_context(ui: Ui, session: DbSession, code: str) -> dict[str, Any]:
    impl = catalog.get_implementation(session, code=code)
    return {"impl": impl, "fields": _form_fields(impl)}


def _prefilled(request: Request, fields: list[dict[str, Any]]) -> dict[str, str]:
    """Values a link brings for the form's own fields (?form.transfer_in=四川省: the service
    assistant pre-fills what the person already said); checked like typed values on submit."""
    names = {f"form.{f.get('name')}" for f in fields}
    return {
        key: value[:200]
        for key, value in request.query_params.items()
        if key in names and value.strip()
    }


@router.get("/apply/{code}")
def apply_details(code: str, request: Request, ui: PageUi, session: DbSession) -> Response:
    """Step 1 of 3: the details the authority asks for (resumes a saved draft)."""
    actor = ui.require_actor()
    identity.authorize(actor, "case.submit")
    ctx = _apply_context(ui, session, code)
    draft = _draft(session, actor, code)
    saved = {f"form.{k}": str(v) for k, v in draft.get("form", {}).items()}
    form = ui.restored_form() or FormState(
        values=(saved or _prefilled(request, ctx["fields"]))
        | {"on_behalf_of": str(draft.get("for") or "")}
    )
    response = ui.render(
        "cases/apply_details.html",
        title=ui.gettext("Apply: your details"),
        form=form,
        principals=_principals(session, actor),
        step=1,
        **ctx,
    )
    _forget_old_draft_cookie(request, response)
    return response


@router.post("/apply/{code}")
def apply_details_submit(
    code: str, request: Request, ui: PageUi, session: DbSession, posted: PostedForm
) -> Response:
    """Check and keep the details, then go to the papers (or save and stop for now)."""
    actor = ui.require_actor()
    identity.authorize(actor, "case.submit")
    ctx = _apply_context(ui, session, code)
    values = {k: v for k, v in posted.items() if isinstance(v, str)}
    form = FormState.of(values.items())
    typed = _check_fields(
        ui, ctx["impl"], {k[5:]: v for k, v in values.items() if k.startswith("form.")}, form
    )
    principals = _principals(session, actor)
    on_behalf = values.get("on_behalf_of", "")
    if on_behalf and on_behalf not in {p for p, _ in principals}:
        form.add("on_behalf_of", ui.gettext("Choose one of the people listed."))
    saving = values.get("save") == "1"
    if form.has_errors and not saving:
        return ui.render(
            "cases/apply_details.html",
            title=ui.gettext("Apply: your details"),
            form=form,
            principals=principals,
            step=1,
            status_code=422,
            **ctx,
        )
    drafts.save_draft(
        session,
        account_id=actor.account_id,
        implementation_code=code,
        form_values={k[5:]: v for k, v in values.items() if k.startswith("form.") and v},
        typed_values=typed,
        on_behalf_of_id=int(on_behalf) if on_behalf else None,
    )
    if saving:
        response = ui.redirect("/my/cases", notice="draft_saved")
    else:
        response = ui.redirect(f"/apply/{code}/materials")
    _forget_old_draft_cookie(request, response)
    return response


def _materials_page(
    ui: Ui, request: Request, session: DbSession, code: str, form: FormState, status_code: int = 200
) -> Response:
    ctx = _apply_context(ui, session, code)
    draft = _draft(session, ui.require_actor(), code)
    attached = {name for name, _sha in draft.get("materials", [])}
    needed = _materials_needed(ctx["impl"])
    # 免证办: the applicant's e-licences that stand in for a line (an agent's own are not).
    holder = draft.get("for") or ui.require_actor().account_id
    return ui.render(
        "cases/apply_materials.html",
        title=ui.gettext("Apply: your papers"),
        form=form,
        needed=needed,
        licences=licence_offers(session, int(holder), [m.name for m in needed]),
        by_licence={n for n, sha in draft.get("materials", []) if sha.startswith("licence:")},
        shared=[m for m in ctx["impl"].materials if m.source == "government"],
        shared_by=shared_resources(session),
        attached=attached,
        step=2,
        status_code=status_code,
        **ctx,
    )


@router.get("/apply/{code}/materials")
def apply_materials(code: str, request: Request, ui: PageUi, session: DbSession) -> Response:
    """Step 2 of 3: upload the papers, one at a time."""
    identity.authorize(ui.require_actor(), "case.submit")
    return _materials_page(ui, request, session, code, FormState())


@router.post("/apply/{code}/materials")
def apply_materials_upload(
    code: str,
    request: Request,
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    material: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
    licence: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Upload one paper into the draft, or name an e-licence that stands in for it (免证办;
    verified when the application is sent)."""
    actor = ui.require_actor()
    identity.authorize(actor, "case.upload")
    impl = catalog.get_implementation(session, code=code)
    form = FormState(values={"material": material})
    if material not in {m.name for m in _materials_needed(impl)}:
        form.add("material", ui.gettext("Choose which paper this is."))
    if licence.isdigit() and not form.has_errors:
        sha: str | None = f"licence:{int(licence)}"
    else:
        sha = _store_upload(ui, session, settings, file, form, "file")
    if form.has_errors or sha is None:
        return _materials_page(ui, request, session, code, form, 422)
    given = _draft(session, actor, code).get("materials", [])
    kept = [pair for pair in given if pair[0] != material]
    drafts.save_draft(
        session,
        account_id=actor.account_id,
        implementation_code=code,
        materials=[*kept, [material, sha]],
    )
    return ui.redirect(f"/apply/{code}/materials", notice="uploaded")


def _check_page(
    ui: Ui, request: Request, session: DbSession, code: str, form: FormState, status_code: int = 200
) -> Response:
    ctx = _apply_context(ui, session, code)
    actor = ui.require_actor()
    draft = _draft(session, actor, code)
    names = dict(_principals(session, actor))
    return ui.render(
        "cases/apply_check.html",
        title=ui.gettext("Apply: check and send"),
        form=form,
        draft=draft,
        applicant_name=names.get(str(draft.get("for") or "")),
        step=3,
        status_code=status_code,
        **ctx,
    )


@router.get("/apply/{code}/check")
def apply_check(code: str, request: Request, ui: PageUi, session: DbSession) -> Response:
    """Step 3 of 3: check everything, then send."""
    identity.authorize(ui.require_actor(), "case.submit")
    return _check_page(ui, request, session, code, FormState())


@router.post("/apply/{code}/check")
def apply_submit(
    code: str, request: Request, ui: PageUi, session: DbSession, settings: AppSettings
) -> Response:
    """Send the application; the draft is dropped once the case exists."""
    actor = ui.require_actor()
    identity.authorize(actor, "case.submit")
    draft = _draft(session, actor, code)
    data = CaseCreate(
        implementation=code,
        form=draft.get("typed", {}),
        materials=[
            MaterialRef(name=n, sha256=s)
            for n, s in draft.get("materials", [])
            if not s.startswith("licence:")
        ],
        licences=[
            LicenceRef(material=n, credential=int(s.removeprefix("licence:")))
            for n, s in draft.get("materials", [])
            if s.startswith("licence:")
        ],
        on_behalf_of=draft.get("for"),
    )
    form = FormState()
    try:
        with uow.attempt(session):
            case, _created = intake.submit(session, actor=actor, data=data, settings=settings)
    except Invalid as exc:
        for error in exc.errors:
            if error.field.startswith("materials"):
                form.add("materials", ui.gettext(MATERIAL_MISSING))
            elif error.field.startswith("form."):
                form.add(
                    "details", ui.gettext("Some details are missing or wrong. Go back to step 1.")
                )
            else:
                form.add("form", ui.field_message(error))
        if not form.has_errors:
            form.add("form", ui.gettext(exc.detail))
        return _check_page(ui, request, session, code, form, 422)
    drafts.drop_draft(session, account_id=actor.account_id, implementation_code=code)
    response = ui.redirect(f"/cases/{case.number}", notice="submitted")
    _forget_old_draft_cookie(request, response)
    return response
