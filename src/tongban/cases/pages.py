"""HTML pages of the cases domain: the citizen's application and cases, the service-point
desk (代收代办) and the official's workbench. Every flow is plain forms: no JavaScript needed.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.datastructures import UploadFile as FormFile
from starlette.responses import Response

from tongban.cases import handling, intake, notify, queries
from tongban.cases import service as cases
from tongban.cases.schemas import ActionIn, ApplicantIn, CaseCreate, MaterialRef
from tongban.catalog import service as catalog
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.config import Settings
from tongban.platform.db import MAX_ROW_ID, uow
from tongban.platform.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
)
from tongban.platform.web.deps import AppSettings, DbSession, PostedForm
from tongban.platform.web.rendering import N_, NOTICES, FormState, Ui, add_templates

router = APIRouter(tags=["cases pages"], include_in_schema=False)
add_templates(Path(__file__).parent / "templates")

DRAFT_COOKIE = "tb_draft"
DESK_COOKIE = "tb_desk"
DRAFT_MAX = 3
NOTICES.update(
    draft_saved=N_("Your application is saved. You can continue it from “My cases”."),
    uploaded=N_("The file is uploaded."),
    submitted=N_("Your application is sent. Keep the case number."),
    action_done=N_("Done. The case is updated."),
    supplied=N_("The missing papers are sent. The clock runs again."),
    applicant_ready=N_("The applicant is checked. Now choose the service."),
    messages_read=N_("All messages are marked as read."),
)
STATES: dict[str, str] = {
    "received": N_("Received, waiting for acceptance"),
    "accepted": N_("Accepted, being handled"),
    "not_accepted": N_("Not accepted"),
    "supplement_requested": N_("Papers missing: please supply them"),
    "special_procedure": N_("Special procedure (clock stopped)"),
    "approved": N_("Approved"),
    "rejected": N_("Refused"),
    "completed": N_("Completed"),
    "withdrawn": N_("Withdrawn"),
    "in_progress": N_("In progress"),
    "partially_completed": N_("Partly completed"),
}
URGENCY: dict[str, tuple[str, str]] = {
    # (icon, label): never colour alone.
    "overdue": ("⚠", N_("Overdue")),
    "due_soon": ("⏰", N_("Due soon")),
    "ok": ("✓", N_("On time")),
    "paused": ("⏸", N_("Clock stopped")),
    "none": ("", N_("No deadline")),
}
ACTIONS: dict[str, str] = {
    "accept": N_("Accept the case"),
    "refuse": N_("Do not accept"),
    "request-supplement": N_("Ask for missing papers (补正)"),
    "supplement": N_("Supply missing papers"),
    "start-special": N_("Start a special procedure"),
    "end-special": N_("End the special procedure"),
    "co-handle": N_("Mark our co-handling step done"),
    "approve": N_("Approve"),
    "reject": N_("Refuse the application"),
    "complete": N_("Complete the case"),
    "withdraw": N_("Withdraw the application"),
}
# Which fields each action's form asks for (the service checks them again).
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "accept": ("note",),
    "refuse": ("reason",),
    "request-supplement": ("missing", "reason"),
    "start-special": ("reason", "expected_end"),
    "end-special": ("note",),
    "co-handle": ("note",),
    "approve": ("decision_text",),
    "reject": ("reason", "decision_text"),
    "complete": ("note",),
    "withdraw": ("reason",),
}
TIMELINE: dict[str, str] = {
    "case.submitted": N_("Application received"),
    "case.accept": N_("Accepted"),
    "case.refuse": N_("Not accepted"),
    "case.request-supplement": N_("Missing papers requested"),
    "case.supplement": N_("Missing papers supplied"),
    "case.start-special": N_("Special procedure started"),
    "case.end-special": N_("Special procedure ended"),
    "case.co-handle": N_("Co-handling step done"),
    "case.approve": N_("Approved"),
    "case.reject": N_("Refused"),
    "case.complete": N_("Completed"),
    "case.withdraw": N_("Withdrawn"),
    "case.material_viewed": N_("Papers opened"),
    "case.applicant_id_viewed": N_("ID number viewed"),
}
REQUIRED_MESSAGE = N_("Fill in this field.")
NUMBER_MESSAGE = N_("Enter a number.")
DATE_MESSAGE = N_("Enter the date as year-month-day, e.g. 2026-03-01.")
CHOICE_MESSAGE = N_("Choose one of the options.")
FILE_MESSAGE = N_("Upload a PDF, JPEG, PNG or OFD file.")
MATERIAL_MISSING = N_("Upload this paper before you send the application.")


def _posted_version(raw: str) -> int:
    """The case version the form was built from; one that is missing or not a version means a
    page we did not serve, answered as a stale one (412: reload and try again)."""
    if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_ROW_ID:
        return int(raw)
    raise PreconditionFailed("The form carries no valid case version; reload the case.")


def _labels(ui: Ui) -> dict[str, Any]:
    return {
        "states": {k: ui.gettext(v) for k, v in STATES.items()},
        "urgency": {k: (icon, ui.gettext(v)) for k, (icon, v) in URGENCY.items()},
        "actions": {k: ui.gettext(v) for k, v in ACTIONS.items()},
        "timeline_labels": {k: ui.gettext(v) for k, v in TIMELINE.items()},
    }


# --- cookies: drafts and the desk's applicant ------------------------------------------------


# Both cookies are sealed (encrypted and authenticated with the node's key): the desk's carries
# the applicant's full resident ID, and neither may be altered in the browser.
DESK_MAX_AGE = 2 * 3600
DRAFT_MAX_AGE = 30 * 24 * 3600


def _read_cookie(request: Request, name: str) -> dict[str, Any]:
    raw = request.cookies.get(name)
    if not raw:
        return {}
    max_age = DESK_MAX_AGE if name == DESK_COOKIE else DRAFT_MAX_AGE
    opened = identity.unseal(raw, max_age_seconds=max_age, settings=request.app.state.settings)
    if opened is None:
        return {}
    try:
        data = json.loads(opened)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _write_cookie(
    request: Request, response: Response, name: str, data: dict[str, Any], *, persist: bool
) -> None:
    sealed = identity.seal(
        json.dumps(data, ensure_ascii=False), settings=request.app.state.settings
    )
    response.set_cookie(
        name,
        sealed,
        max_age=(DRAFT_MAX_AGE if persist else DESK_MAX_AGE),
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
        path="/",
    )


def _drafts(request: Request) -> dict[str, Any]:
    """Saved applications on this device, by implementation code (save and resume)."""
    return _read_cookie(request, DRAFT_COOKIE)


def _save_draft(request: Request, response: Response, code: str, draft: dict[str, Any]) -> None:
    drafts = _drafts(request)
    drafts.pop(code, None)
    drafts[code] = draft
    while len(drafts) > DRAFT_MAX:
        drafts.pop(next(iter(drafts)))
    _write_cookie(request, response, DRAFT_COOKIE, drafts, persist=True)


def _drop_draft(request: Request, response: Response, code: str) -> None:
    drafts = _drafts(request)
    drafts.pop(code, None)
    if drafts:
        _write_cookie(request, response, DRAFT_COOKIE, drafts, persist=True)
    else:
        response.delete_cookie(DRAFT_COOKIE, path="/")


# --- shared helpers --------------------------------------------------------------------------


def _form_fields(impl: Any) -> list[dict[str, Any]]:
    return [dict(f) for f in (impl.form_fields or [])]


def _check_fields(ui: Ui, impl: Any, values: dict[str, str], form: FormState) -> dict[str, Any]:
    """Check the implementation's own fields; return typed values for the service."""
    typed: dict[str, Any] = {}
    for spec in _form_fields(impl):
        name = str(spec.get("name"))
        value = values.get(name, "").strip()
        label = str(spec.get("label") or name)
        problem = FormState()
        if not value:
            if spec.get("required"):
                problem.add(name, ui.gettext(REQUIRED_MESSAGE))
        else:
            typed_value = _typed(ui, spec, value, problem)
            if typed_value is not None:
                typed[name] = typed_value
            form.values[f"form.{name}"] = value
        for message in problem.errors.values():
            # The summary names the field: the labels come from the catalog.
            form.add(
                f"form.{name}",
                ui.gettext("%(label)s: %(message)s") % {"label": label, "message": message},
            )
    return typed


def _typed(ui: Ui, spec: dict[str, Any], value: str, problem: FormState) -> Any:
    """The value in the type the service expects, or None with a message in `problem`."""
    name = str(spec.get("name"))
    kind = spec.get("type", "text")
    if kind == "number":
        try:
            return int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            problem.add(name, ui.gettext(NUMBER_MESSAGE))
            return None
    if kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            problem.add(name, ui.gettext(DATE_MESSAGE))
            return None
    elif kind == "choice" and value not in (spec.get("choices") or []):
        problem.add(name, ui.gettext(CHOICE_MESSAGE))
        return None
    return value


def _materials_needed(impl: Any) -> list[Any]:
    """Lines the applicant provides (government-held papers are fetched by sharing)."""
    return [m for m in impl.materials if m.source != "government"]


def _read_upload(file: FormFile, settings: Settings) -> bytes:
    data = file.file.read(settings.upload_max_bytes + 1)
    if len(data) > settings.upload_max_bytes:
        raise PayloadTooLarge(f"The file is over {settings.upload_max_bytes} bytes.")
    return data


def _store_upload(
    ui: Ui,
    session: DbSession,
    settings: Settings,
    file: FormFile | None,
    form: FormState,
    field: str,
) -> str | None:
    """Store an uploaded file; its sha256, or None with a message on the form."""
    if file is None or not file.filename:
        form.add(field, ui.gettext(FILE_MESSAGE))
        return None
    try:
        data = _read_upload(file, settings)
        row = intake.upload(session, actor=ui.require_actor(), data=data, settings=settings)
    except PayloadTooLarge:
        form.add(field, ui.gettext("The file is too large. Choose a smaller file."))
        return None
    except Invalid:
        form.add(field, ui.gettext(FILE_MESSAGE))
        return None
    return row.sha256


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


@router.get("/apply/{code}")
def apply_details(code: str, request: Request, ui: PageUi, session: DbSession) -> Response:
    """Step 1 of 3: the details the authority asks for (resumes a saved draft)."""
    actor = ui.require_actor()
    identity.authorize(actor, "case.submit")
    ctx = _apply_context(ui, session, code)
    draft = _drafts(request).get(code, {})
    form = ui.restored_form() or FormState(
        values={f"form.{k}": str(v) for k, v in draft.get("form", {}).items()}
        | {"on_behalf_of": str(draft.get("for") or "")}
    )
    return ui.render(
        "cases/apply_details.html",
        title=ui.gettext("Apply: your details"),
        form=form,
        principals=_principals(session, actor),
        step=1,
        **ctx,
    )


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
    draft = _drafts(request).get(code, {})
    draft.update(
        form={k[5:]: v for k, v in values.items() if k.startswith("form.") and v}, typed=typed
    )
    draft["for"] = int(on_behalf) if on_behalf else None
    if saving:
        response = ui.redirect("/my/cases", notice="draft_saved")
    else:
        response = ui.redirect(f"/apply/{code}/materials")
    _save_draft(request, response, code, draft)
    return response


def _materials_page(
    ui: Ui, request: Request, session: DbSession, code: str, form: FormState, status_code: int = 200
) -> Response:
    ctx = _apply_context(ui, session, code)
    draft = _drafts(request).get(code, {})
    attached = {name for name, _sha in draft.get("materials", [])}
    return ui.render(
        "cases/apply_materials.html",
        title=ui.gettext("Apply: your papers"),
        form=form,
        needed=_materials_needed(ctx["impl"]),
        shared=[m for m in ctx["impl"].materials if m.source == "government"],
        attached=attached,
        step=2,
        status_code=status_code,
        **ctx,
    )


@router.get("/apply/{code}/materials")
def apply_materials(code: str, request: Request, ui: PageUi, session: DbSession) -> Response:
    """Step 2 of 3: upload the papers, one at a time."""
    ui.require_actor()
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
) -> Response:
    """Upload one paper into the draft."""
    actor = ui.require_actor()
    identity.authorize(actor, "case.upload")
    impl = catalog.get_implementation(session, code=code)
    form = FormState(values={"material": material})
    if material not in {m.name for m in _materials_needed(impl)}:
        form.add("material", ui.gettext("Choose which paper this is."))
    sha = _store_upload(ui, session, settings, file, form, "file")
    if form.has_errors or sha is None:
        return _materials_page(ui, request, session, code, form, 422)
    draft = _drafts(request).get(code, {})
    kept = [pair for pair in draft.get("materials", []) if pair[0] != material]
    draft["materials"] = [*kept, [material, sha]]
    response = ui.redirect(f"/apply/{code}/materials", notice="uploaded")
    _save_draft(request, response, code, draft)
    return response


def _check_page(
    ui: Ui, request: Request, session: DbSession, code: str, form: FormState, status_code: int = 200
) -> Response:
    ctx = _apply_context(ui, session, code)
    draft = _drafts(request).get(code, {})
    names = dict(_principals(session, ui.require_actor()))
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
    ui.require_actor()
    return _check_page(ui, request, session, code, FormState())


@router.post("/apply/{code}/check")
def apply_submit(
    code: str, request: Request, ui: PageUi, session: DbSession, settings: AppSettings
) -> Response:
    """Send the application; the draft is dropped once the case exists."""
    actor = ui.require_actor()
    draft = _drafts(request).get(code, {})
    data = CaseCreate(
        implementation=code,
        form=draft.get("typed", {}),
        materials=[MaterialRef(name=n, sha256=s) for n, s in draft.get("materials", [])],
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
    response = ui.redirect(f"/cases/{case.number}", notice="submitted")
    _drop_draft(request, response, code)
    return response


# --- citizen: my cases, a case, supplement, messages -------------------------------------------


@router.get("/my/cases")
def my_cases_page(
    request: Request, ui: PageUi, session: DbSession, settings: AppSettings
) -> Response:
    """The cases I applied for (or filed for others), and my saved drafts."""
    actor = ui.require_actor()
    page = cases.my_cases(session, actor=actor, settings=settings, limit=50)
    drafts = []
    for code in _drafts(request):
        try:
            drafts.append(catalog.get_implementation(session, code=code))
        except NotFound:
            continue
    return ui.render(
        "cases/my_cases.html",
        title=ui.gettext("My cases"),
        items=page.items,
        drafts=drafts,
        **_labels(ui),
    )


def _allowed_actions(
    session: DbSession, actor: identity.Actor, number: str, actions: list[str]
) -> list[str]:
    case = handling.get_case(session, number=number)
    allowed = []
    for action in actions:
        try:
            handling.authorize_action(session, actor=actor, case=case, action=cases.Action(action))
        except (Forbidden, Conflict, Invalid, ValueError):
            continue
        allowed.append(action)
    return allowed


@router.get("/cases/{number}")
def case_page(number: str, ui: PageUi, session: DbSession, settings: AppSettings) -> Response:
    """One case: state, deadlines, papers, timeline, and what I can do next."""
    actor = ui.require_actor()
    read = cases.read_case(session, actor=actor, number=number, settings=settings)
    labels: dict[str, str] = {}
    if read.implementation_code:
        try:
            impl = catalog.get_implementation(session, code=read.implementation_code)
            labels = {str(f.get("name")): str(f.get("label")) for f in _form_fields(impl)}
        except NotFound:
            pass
    return ui.render(
        "cases/case.html",
        title=read.item_name,
        case=read,
        field_labels=labels,
        allowed=_allowed_actions(session, actor, number, read.actions),
        may_reveal=queries.may_reveal_applicant_id(
            actor, handling.get_case(session, number=number)
        ),
        **_labels(ui),
    )


def _reveal_page(
    ui: Ui,
    session: DbSession,
    settings: Settings,
    number: str,
    form: FormState,
    status_code: int = 200,
    shown: tuple[str, str] | None = None,
) -> Response:
    actor = ui.require_actor()
    read = cases.read_case(session, actor=actor, number=number, settings=settings)
    if not queries.may_reveal_applicant_id(actor, handling.get_case(session, number=number)):
        raise Forbidden("Only the deciding department's officials see the full ID number.")
    response = ui.render(
        "cases/reveal.html",
        title=ui.gettext("The applicant's full ID number"),
        case=read,
        form=form,
        resident_id=shown[0] if shown else None,
        applicant_name=shown[1] if shown else None,
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/cases/{number}/applicant-id")
def reveal_page(number: str, ui: PageUi, session: DbSession, settings: AppSettings) -> Response:
    """Ask for the applicant's full ID number, with a purpose (officials of the case)."""
    return _reveal_page(ui, session, settings, number, FormState())


@router.post("/cases/{number}/applicant-id")
def reveal_submit(
    number: str,
    request: Request,
    ui: PageUi,
    session: DbSession,
    posted: PostedForm,
    settings: AppSettings,
) -> Response:
    """Show the full number once; the look and its purpose go on the case's timeline."""
    actor = ui.require_actor()
    form = FormState.of((k, v) for k, v in posted.multi_items() if isinstance(v, str))
    purpose = form.value("purpose").strip()
    if len(purpose) < 2:
        form.add("purpose", ui.gettext(REQUIRED_MESSAGE))
        return _reveal_page(ui, session, settings, number, form, 422)
    shown = cases.reveal_applicant_id(
        session, actor=actor, number=number, purpose=purpose[:200], settings=settings
    )
    return _reveal_page(ui, session, settings, number, form, shown=shown)


def _action_page(
    ui: Ui,
    session: DbSession,
    settings: Settings,
    number: str,
    action: str,
    form: FormState,
    status_code: int = 200,
) -> Response:
    actor = ui.require_actor()
    if action not in ACTIONS:
        raise NotFound(f"No action {action}.")
    read = cases.read_case(session, actor=actor, number=number, settings=settings)
    if action not in _allowed_actions(session, actor, number, read.actions):
        raise Forbidden(f"Not allowed: {action}.")
    missing_lines = [line for line in read.checklist if line.source != "government"]
    return ui.render(
        "cases/action.html",
        title=ui.gettext(ACTIONS[action]),
        case=read,
        action=action,
        fields=ACTION_FIELDS.get(action, ()),
        form=form,
        missing_lines=missing_lines,
        status_code=status_code,
        **_labels(ui),
    )


@router.get("/cases/{number}/act/{action}")
def action_page(
    number: str, action: str, ui: PageUi, session: DbSession, settings: AppSettings
) -> Response:
    """The form of one action on a case (one task per page)."""
    form = ui.restored_form() or FormState()
    return _action_page(ui, session, settings, number, action, form)


@router.post("/cases/{number}/act/{action}")
def action_submit(
    number: str,
    action: str,
    request: Request,
    ui: PageUi,
    session: DbSession,
    posted: PostedForm,
    settings: AppSettings,
) -> Response:
    """Take the action; bad input re-renders the form with the user's input and messages."""
    actor = ui.require_actor()
    values = {k: v for k, v in posted.multi_items() if isinstance(v, str)}
    form = FormState.of((k, v) for k, v in posted.multi_items() if isinstance(v, str))
    missing = [line.strip() for line in values.get("missing", "").splitlines() if line.strip()]
    missing += [v for k, v in posted.multi_items() if k == "missing_item" and isinstance(v, str)]
    materials: list[MaterialRef] = []
    if action == "supplement":
        upload = posted.get("file")
        if isinstance(upload, FormFile) and upload.filename:
            sha = _store_upload(ui, session, settings, upload, form, "file")
            if sha is not None:
                materials.append(MaterialRef(name=values.get("material", ""), sha256=sha))
    if form.has_errors:
        return _action_page(ui, session, settings, number, action, form, 422)
    try:
        body = ActionIn(
            version=_posted_version(values.get("version", "")),
            reason=values.get("reason") or None,
            decision_text=values.get("decision_text") or None,
            missing=missing or None,
            expected_end=date.fromisoformat(values["expected_end"])
            if values.get("expected_end")
            else None,
            materials=materials,
            note=values.get("note") or None,
        )
    except ValueError:
        form.add("expected_end", ui.gettext(DATE_MESSAGE))
        return _action_page(ui, session, settings, number, action, form, 422)
    try:
        with uow.attempt(session):
            handling.act(
                session, actor=actor, number=number, action=action, body=body, settings=settings
            )
    except Invalid as exc:
        ui.form_errors(form, exc, aliases={"materials": "file", "materials[0].name": "material"})
        return _action_page(ui, session, settings, number, action, form, 422)
    notice = "supplied" if action == "supplement" else "action_done"
    return ui.redirect(f"/cases/{number}", notice=notice)


@router.get("/cases/{number}/receipt")
def receipt_page(number: str, ui: PageUi, session: DbSession, settings: AppSettings) -> Response:
    """The printable receipt (受理回执) with its QR code (inline SVG), no JavaScript."""
    case = queries.case_for_receipt(session, actor=ui.require_actor(), number=number)
    url = cases.tracking_url(settings.public_base_url, case.number)
    return ui.render(
        "cases/receipt.html",
        title=ui.gettext("Receipt"),
        facts=queries.receipt_facts(case),
        qr=cases.qr_svg(url),
        url=url,
        **_labels(ui),
    )


@router.get("/my/messages")
def messages_page(ui: PageUi, session: DbSession) -> Response:
    """My messages, newest first."""
    actor = ui.require_actor()
    identity.authorize(actor, "messages.read_own", {"owner_id": actor.account_id})
    items, unread = notify.list_messages(session, account_id=actor.account_id, limit=50)
    return ui.render(
        "cases/messages.html", title=ui.gettext("Messages"), items=items, unread=unread
    )


@router.post("/my/messages/read")
def messages_read(ui: PageUi, session: DbSession) -> Response:
    """Mark all my messages read."""
    actor = ui.require_actor()
    identity.authorize(actor, "messages.read_own", {"owner_id": actor.account_id})
    notify.mark_read(session, account_id=actor.account_id)
    return ui.redirect("/my/messages", notice="messages_read")


# --- clerk: the service-point desk ------------------------------------------------------------


def _require_clerk(ui: Ui) -> identity.Actor:
    actor = ui.require_actor()
    if actor.role != identity.Role.CLERK:
        raise Forbidden("The desk is for service-point clerks.")
    return actor


@router.get("/desk")
def desk_page(request: Request, ui: PageUi) -> Response:
    """Step 1: find the citizen and check their ID card."""
    _require_clerk(ui)
    applicant = _read_cookie(request, DESK_COOKIE)
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
    """Check the applicant's ID number and name; remember them for this desk session."""
    _require_clerk(ui)
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
    _write_cookie(
        ui.request,
        response,
        DESK_COOKIE,
        {
            "resident_id": number,
            "name": name.strip(),
            "phone": phone.strip(),
            "confirmed": True,
            "registered": account is not None,
        },
        persist=False,
    )
    return response


@router.post("/desk/clear")
def desk_clear(ui: PageUi) -> Response:
    """Forget the applicant (next citizen)."""
    _require_clerk(ui)
    response = ui.redirect("/desk")
    response.delete_cookie(DESK_COOKIE, path="/")
    return response


@router.get("/desk/service")
def desk_service(request: Request, ui: PageUi, session: DbSession, q: str = "") -> Response:
    """Step 2: choose the service and the competent authority's implementation."""
    _require_clerk(ui)
    applicant = _read_cookie(request, DESK_COOKIE)
    if not applicant:
        return ui.redirect("/desk")
    hits: list[Any] = []
    form = FormState(values={"q": q})
    if q.strip():
        try:
            found, _total = catalog.search_items(session, q=q, limit=10)
            hits = [catalog.get_item(session, code=h.code) for h in found]
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
    ui: Ui, request: Request, session: DbSession, code: str, form: FormState, status_code: int = 200
) -> Response:
    impl = catalog.get_implementation(session, code=code)
    return ui.render(
        "cases/desk_apply.html",
        title=ui.gettext("Apply for the citizen"),
        form=form,
        impl=impl,
        fields=_form_fields(impl),
        needed=_materials_needed(impl),
        applicant=_read_cookie(request, DESK_COOKIE),
        status_code=status_code,
    )


@router.get("/desk/apply/{code}")
def desk_apply(code: str, request: Request, ui: PageUi, session: DbSession) -> Response:
    """Step 3: fill the form and attach the papers for the citizen."""
    _require_clerk(ui)
    if not _read_cookie(request, DESK_COOKIE):
        return ui.redirect("/desk")
    return _desk_apply_page(ui, request, session, code, ui.restored_form() or FormState())


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
    applicant = _read_cookie(request, DESK_COOKIE)
    if not applicant:
        return ui.redirect("/desk")
    impl = catalog.get_implementation(session, code=code)
    values = {k: v for k, v in posted.items() if isinstance(v, str)}
    form = FormState.of(values.items())
    typed = _check_fields(
        ui, impl, {k[5:]: v for k, v in values.items() if k.startswith("form.")}, form
    )
    refs: list[MaterialRef] = []
    for index, material in enumerate(_materials_needed(impl)):
        upload = posted.get(f"file{index}")
        if isinstance(upload, FormFile) and upload.filename:
            sha = _store_upload(ui, session, settings, upload, form, f"file{index}")
            if sha:
                refs.append(MaterialRef(name=material.name, sha256=sha))
        elif material.required == "yes":
            form.add(f"file{index}", ui.gettext(MATERIAL_MISSING))
    if form.has_errors:
        return _desk_apply_page(ui, request, session, code, form, 422)
    data = CaseCreate(
        implementation=code,
        form=typed,
        materials=refs,
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
        ui.form_errors(form, exc)
        return _desk_apply_page(ui, request, session, code, form, 422)
    response = ui.redirect(f"/cases/{case.number}/receipt", notice="submitted")
    response.delete_cookie(DESK_COOKIE, path="/")
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


# --- official: the workbench -------------------------------------------------------------------


@router.get("/work")
def workbench(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    state: str = "",
    item: str = "",
    view: str = "handling",
) -> Response:
    """My queue, nearest deadline first, with overdue and due-soon marks (text and icon)."""
    actor = ui.require_actor()
    identity.authorize(actor, "case.queue")
    form = FormState(values={"state": state, "item": item, "view": view})
    items: list[Any] = []
    try:
        page = cases.queue(
            session,
            actor=actor,
            settings=settings,
            state=state or None,
            item=item.strip() or None,
            view=view if view in ("handling", "co-handling") else "handling",
            limit=100,
        )
        items = page.items
    except Invalid as exc:
        ui.form_errors(form, exc)
    labels = _labels(ui)
    return ui.render(
        "cases/workbench.html",
        title=ui.gettext("Workbench"),
        form=form,
        items=items,
        state_options=[("", ui.gettext("All open cases"))]
        + [
            (s, labels["states"][s])
            for s in ("received", "accepted", "supplement_requested", "special_procedure")
        ],
        status_code=422 if form.has_errors else 200,
        **labels,
    )
