"""One case, for everyone who may see it: its page, the actions on it (one task per page),
the applicant's full ID for the deciding officials, the receipt, and the messages."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile as FormFile
from starlette.responses import Response

from tongban.cases import handling, notify, queries
from tongban.cases import service as cases
from tongban.cases.pages.common import (
    ACTION_FIELDS,
    ACTIONS,
    DATE_MESSAGE,
    REQUIRED_MESSAGE,
    _draft_codes,
    _forget_old_draft_cookie,
    _form_fields,
    _labels,
    _posted_version,
    _store_upload,
)
from tongban.cases.pages.result import RESULT_FIELD, store_result
from tongban.cases.pages.supplement import (
    SUPPLEMENT_ACTIONS,
    supplement_aliases,
    supplement_body,
    supplement_context,
)
from tongban.cases.schemas import ActionIn, MaterialRef
from tongban.catalog import service as catalog
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.config import Settings
from tongban.platform.db import uow
from tongban.platform.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
)
from tongban.platform.web.deps import AppSettings, DbSession, PostedForm
from tongban.platform.web.rendering import FormState, Ui

router = APIRouter()

# --- citizen: my cases, a case, supplement, messages -------------------------------------------


@router.get("/my/cases")
def my_cases_page(
    request: Request, ui: PageUi, session: DbSession, settings: AppSettings
) -> Response:
    """The cases I applied for (or filed for others), and my saved drafts."""
    actor = ui.require_actor()
    page = cases.my_cases(session, actor=actor, settings=settings, limit=50)
    drafts = []
    for code in _draft_codes(session, actor):
        try:
            drafts.append(catalog.get_implementation(session, code=code))
        except NotFound:
            continue
    response = ui.render(
        "cases/my_cases.html",
        title=ui.gettext("My cases"),
        items=page.items,
        drafts=drafts,
        **_labels(ui),
    )
    _forget_old_draft_cookie(request, response)
    return response


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
    row = handling.get_case(session, number=number)
    return ui.render(
        "cases/case.html",
        title=read.item_name,
        case=read,
        field_labels=labels,
        allowed=_allowed_actions(session, actor, number, read.actions),
        **supplement_context(ui, read),
        may_reveal=queries.may_reveal_applicant_id(actor, row),
        filed_by=_filed_by(ui, session, channel=read.channel, filer_id=row.filed_by_id),
        may_confirm_payout=read.payout_pending and actor.account_id == row.applicant_id,
        **_labels(ui),
    )


def _filed_by(ui: Ui, session: DbSession, *, channel: str, filer_id: int | None) -> str:
    """Who filed the case, and on whose behalf, in words (every case page says it)."""
    if channel == "proxy" and filer_id is not None:
        name = identity.account_card(session, account_id=filer_id).display_name
        return ui.gettext(
            "%(name)s, a relative the applicant authorised, for the applicant (亲友代办)"
        ) % {"name": name}
    if channel == "assisted":
        return ui.gettext("A clerk at a service point, for the applicant (窗口代办)")
    return ui.gettext("The applicant, online")


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
        **supplement_context(ui, read),
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
    supplement: dict[str, Any] = {}
    read = (
        cases.read_case(session, actor=actor, number=number, settings=settings)
        if action in SUPPLEMENT_ACTIONS
        else None
    )
    if read is not None and (action != "supplement" or read.supplement_items):
        # 补正 item by item (pages/supplement.py), against the request as it is now.
        supplement = supplement_body(
            ui, session, settings, action=action, read=read, posted=posted, form=form
        )
    elif action == "supplement":  # a request made before requests had items
        upload = posted.get("file")
        if isinstance(upload, FormFile) and upload.filename:
            sha = _store_upload(ui, session, settings, upload, form, "file")
            if sha is not None:
                materials.append(MaterialRef(name=values.get("material", ""), sha256=sha))
    result_document = store_result(
        ui,
        session,
        settings,
        number=number,
        action=action,
        file=posted.get(RESULT_FIELD),
        form=form,
    )
    if form.has_errors:
        return _action_page(ui, session, settings, number, action, form, 422)
    try:
        body = ActionIn(
            result_document=result_document,
            version=_posted_version(values.get("version", "")),
            reason=values.get("reason") or None,
            decision_text=values.get("decision_text") or None,
            missing=missing or None,
            expected_end=date.fromisoformat(values["expected_end"])
            if values.get("expected_end")
            else None,
            materials=materials,
            note=values.get("note") or None,
            **supplement,
        )
    except ValueError:
        form.add("expected_end", ui.gettext(DATE_MESSAGE))
        return _action_page(ui, session, settings, number, action, form, 422)
    try:
        with uow.attempt(session):
            done = handling.act(
                session, actor=actor, number=number, action=action, body=body, settings=settings
            )
    except Invalid as exc:
        ui.form_errors(
            form,
            exc,
            aliases={
                "materials": "file",
                "materials[0].name": "material",
                "result_document": RESULT_FIELD,
                **supplement_aliases(),
            },
        )
        return _action_page(ui, session, settings, number, action, form, 422)
    notice = "supplied" if action == "supplement" else "action_done"
    if action == "supplement" and done.state == "supplement_requested":
        notice = "supplied_partly"  # some items are still open: the clock stays stopped
    return ui.redirect(f"/cases/{number}", notice=notice)


@router.get("/cases/{number}/receipt")
def receipt_page(number: str, ui: PageUi, session: DbSession, settings: AppSettings) -> Response:
    """The printable receipt (受理回执) with its QR code (inline SVG), no JavaScript."""
    case = queries.case_for_receipt(session, actor=ui.require_actor(), number=number)
    url = cases.tracking_url(str(ui.request.base_url), case.number, settings=settings)
    facts = queries.receipt_facts(session, case)
    return ui.render(
        "cases/receipt.html",
        title=(
            ui.gettext("Acceptance receipt")
            if facts["accepted"]
            else ui.gettext("Receipt of application")
        ),
        facts=facts,
        qr=cases.qr_svg(url),
        url=url,
        subs=queries.bundle_parts(session, case=case),
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
