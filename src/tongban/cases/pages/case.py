"""One case, for everyone who may see it: its page, the actions on it (one task per page),
the applicant's full ID for the deciding officials, the receipt, and the messages."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile as FormFile
from starlette.responses import Response

from tongban.cases import (
    assignment,
    clocks,
    decisions,
    handling,
    message_locale,
    notify,
    queries,
    remote,
)
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
    licence_uses,
    shared_materials,
    shared_resources,
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
    PreconditionFailed,
)
from tongban.platform.web.deps import AppSettings, DbSession, PostedForm
from tongban.platform.web.rendering import N_, NOTICES, FormState, Ui
from tongban.workdays.service import load_calendar

router = APIRouter()

# The notice after a decision says what was decided, in the item type's words.
NOTICES.update(
    {f"decided_{w.key}_approve": w.done_approve for w in decisions.ALL_WORDS}
    | {f"decided_{w.key}_reject": w.done_reject for w in decisions.ALL_WORDS}
    | {"assigned": N_("The case is handed over. It is in your colleague's queue now.")}
    | {
        "request_sent": N_(
            "Sent to the node of the competent authority, which handles this case. "
            "This page shows its answer."
        )
    }
)
ASSIGNED = N_("Handed to a colleague")
PAUSES: dict[str, str] = {
    "supplement": N_("Waiting for missing papers (补正)"),
    "special": N_("Special procedure (特别程序)"),
}


def _case_labels(ui: Ui, session: DbSession, item_code: str | None) -> dict[str, Any]:
    """The page's labels with the decision in the item's type's words: 准予许可 / 不予许可 only
    for a licence (行政许可), 准予办理 / 不予办理 for a service, and so on (cases/decisions.py)."""
    labels = _labels(ui)
    words = decisions.words_of_item(session, item_code)
    labels["actions"] = {
        **labels["actions"],
        "approve": ui.gettext(words.approve),
        "reject": ui.gettext(words.reject),
    }
    labels["states"] = {
        **labels["states"],
        "approved": ui.gettext(words.approved),
        "rejected": ui.gettext(words.rejected),
    }
    labels["timeline_labels"] = {
        **labels["timeline_labels"],
        "case.approve": ui.gettext(words.approved),
        "case.reject": ui.gettext(words.rejected),
        "case.assigned": ui.gettext(ASSIGNED),
    }
    labels["confirm"] = {
        "approve": ui.gettext(words.confirm_approve),
        "reject": ui.gettext(words.confirm_reject),
    }
    labels["decision_key"] = words.key
    return labels


def _colleague_options(
    ui: Ui, session: DbSession, actor: identity.Actor, row: Any
) -> list[tuple[str, str]]:
    """(account id, name) of the colleagues the official may hand the case to."""
    if actor.role is not identity.Role.OFFICIAL:
        return []
    return [
        (str(c.account_id), ui.gettext("%(name)s (you)") % {"name": c.name} if c.is_me else c.name)
        for c in assignment.colleagues(session, actor=actor, case=row)
    ]


def _pause(ui: Ui, session: DbSession, row: Any) -> dict[str, Any] | None:
    """Why the clock is stopped, since when, and when it runs again: a special procedure has
    an expected end; a 补正 lasts until the papers are supplied."""
    pause = handling.open_pause(row)
    if pause is None:
        return None
    since = clocks.local_date(pause.started_at)
    today = queries.today()
    working, natural = clocks.pause_length(load_calendar(session), start=since, end=today)
    return {
        "kind": pause.kind,
        "label": ui.gettext(PAUSES.get(pause.kind, pause.kind)),
        "reason": pause.reason,
        "since": since,
        "expected_end": pause.expected_end,
        "overrun": pause.expected_end is not None and pause.expected_end < today,
        "working_days": working,
        "natural_days": natural,
    }


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
    row = handling.get_case(session, number=number)
    return _render_case(ui, session, actor, read, row)


def _field_labels(session: DbSession, read: Any) -> dict[str, str]:
    """The labels of the form's fields, from the catalog (none when the item left it)."""
    if read.implementation_code:
        try:
            impl = catalog.get_implementation(session, code=read.implementation_code)
        except NotFound:
            return {}
        return {str(f.get("name")): str(f.get("label")) for f in _form_fields(impl)}
    return {}


def _render_case(
    ui: Ui,
    session: DbSession,
    actor: identity.Actor,
    read: Any,
    row: Any,
    *,
    assign_form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    # Handled on another node (issue #18): only what this node sends there can be taken,
    # and not while a request waits for that node's answer.
    there = remote.view(session, number=read.number)
    allowed = _allowed_actions(session, actor, read.number, read.actions)
    if there is not None:
        allowed = [a for a in allowed if a in there.actions and not there.pending]
    return ui.render(
        "cases/case.html",
        title=read.item_name,
        case=read,
        remote=there,
        remote_parts={
            s.number: there_part
            for s in read.sub_cases
            if (there_part := remote.view(session, number=s.number)) is not None
        },
        field_labels=_field_labels(session, read),
        shared=shared_materials(session, read.number),
        shared_by=shared_resources(session),
        licensed=licence_uses(session, read.number),
        allowed=allowed,
        **supplement_context(ui, read),
        may_reveal=queries.may_reveal_applicant_id(actor, row),
        filed_by=_filed_by(ui, session, channel=read.channel, filer_id=row.filed_by_id),
        may_confirm_payout=read.payout_pending and actor.account_id == row.applicant_id,
        pause=_pause(ui, session, row),
        colleagues=_colleague_options(ui, session, actor, row),
        # Who works the case is the department's business: shown to its officials only.
        assignee_name=assignment.assignee_name(session, case=row)
        if actor.role is identity.Role.OFFICIAL
        else None,
        assign_form=assign_form or FormState(),
        status_code=status_code,
        **_case_labels(ui, session, row.item_code),
    )


@router.post("/cases/{number}/assign")
def assign_submit(
    number: str, ui: PageUi, session: DbSession, posted: PostedForm, settings: AppSettings
) -> Response:
    """Hand the case to a colleague of the department; a bad choice shows the case again with
    the message beside the form, nothing changed."""
    actor = ui.require_actor()
    form = FormState.of((k, v) for k, v in posted.multi_items() if isinstance(v, str))
    raw = form.value("assignee").strip()
    version = form.value("version").strip()
    try:
        with uow.attempt(session):
            assignment.assign(
                session,
                actor=actor,
                number=number,
                assignee_id=int(raw) if raw.isascii() and raw.isdigit() else 0,
                version=_posted_version(version) if version else None,
                note=form.value("note") or None,
            )
    except (Invalid, Conflict, PreconditionFailed) as exc:
        if isinstance(exc, Invalid):
            form.add("assignee", ui.gettext("Choose a colleague from the list."))
        else:
            form.add("assignee", ui.gettext("The case changed or is closed: look again."))
        read = cases.read_case(session, actor=actor, number=number, settings=settings)
        row = handling.get_case(session, number=number)
        return _render_case(ui, session, actor, read, row, assign_form=form, status_code=422)
    return ui.redirect(f"/cases/{number}", notice="assigned")


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
        **_case_labels(ui, session, handling.get_case(session, number=number).item_code),
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
    if action in ("approve", "reject"):
        words = decisions.words_of_item(session, done.item_code)
        notice = f"decided_{words.key}_{action}"
    if action == "supplement" and done.state == "supplement_requested":
        notice = "supplied_partly"  # some items are still open: the clock stays stopped
    there = remote.view(session, number=number)
    if there is not None and any(r.action == action for r in there.pending):
        notice = "request_sent"  # a copy: the authority's node applies it (issue #18)
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
        "cases/messages.html",
        title=ui.gettext("Messages"),
        items=items,
        unread=unread,
        # Each message in the reader's language, by its code (cases/message_locale.py).
        readings=message_locale.readings(session, items, locale=ui.locale, gettext=ui.gettext),
    )


@router.post("/my/messages/read")
def messages_read(ui: PageUi, session: DbSession) -> Response:
    """Mark all my messages read."""
    actor = ui.require_actor()
    identity.authorize(actor, "messages.read_own", {"owner_id": actor.account_id})
    notify.mark_read(session, account_id=actor.account_id)
    return ui.redirect("/my/messages", notice="messages_read")
