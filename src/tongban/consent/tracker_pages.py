"""The tracker's pages: 我的数据使用记录 (citizens, a relative within a proxy's scope), one line
with its receipt and the objection form, and the stewards' and operator's list of objections.
Plain forms, no JavaScript; the services are the API's (same checks, same events)."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from starlette.responses import Response

from tongban.consent import objections, tracker
from tongban.identity.deps import PageUi
from tongban.platform.db import uow
from tongban.platform.errors import AppError, Invalid
from tongban.platform.web.deps import AppSettings, DbSession, RowId, RowIdQuery
from tongban.platform.web.rendering import N_, NOTICES, FormState, Ui, add_templates

router = APIRouter()
add_templates(Path(__file__).parent / "templates")

NOTICES.update(
    objection_filed=N_("Your objection is sent to the department's data steward."),
    objection_answered=N_("Your answer is sent to the citizen."),
)
KINDS: dict[str, str] = {
    "fetch": N_("Data sharing"),
    "id_view": N_("ID number viewed"),
    "file_open": N_("File opened"),
    "licence_use": N_("E-licence checked"),
    "consent_use": N_("Used under your consent"),
}
ROLE_WORDS: dict[str, str] = {
    "official": N_("Official"),
    "clerk": N_("Clerk"),
    "steward": N_("Data steward"),
    "citizen": N_("Applicant or family member"),
    "admin": N_("Administrator"),
}
TEXT_MESSAGE = N_("Write 2 to 500 characters.")
BAD_DATE = N_("Enter the date as year-month-day, e.g. 2026-03-01.")


def _labels(ui: Ui) -> dict[str, Any]:
    return {
        "kinds": {k: ui.gettext(v) for k, v in KINDS.items()},
        "roles": {k: ui.gettext(v) for k, v in ROLE_WORDS.items()},
        "outcomes": {k: ui.gettext(v) for k, v in tracker.OUTCOME_WORDS.items()},
        "words": {k: ui.gettext(use.words) for k, use in tracker.USES.items()},
    }


def _day(raw: str, name: str, form: FormState, ui: Ui) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        form.add(name, ui.gettext(BAD_DATE))
        return None


@router.get("/my/data-usage")
def tracker_page(
    ui: PageUi,
    session: DbSession,
    department: Annotated[str, Query(max_length=32)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
    subject: RowIdQuery = None,
) -> Response:
    """我的数据使用记录: who used my data, when, why, with a ledger receipt for each line."""
    actor = ui.require_actor()
    values = {"department": department, "since": since, "until": until}
    form = FormState(values=values)
    start, end = _day(since, "since", form, ui), _day(until, "until", form, ui)
    page = tracker.data_usage(
        session,
        actor=actor,
        subject_id=subject,
        department=department or None,
        since=datetime.combine(start, time.min, tracker.SHANGHAI) if start else None,
        until=datetime.combine(end, time.max, tracker.SHANGHAI) if end else None,
        cursor=cursor or None,
    )
    query = {k: v for k, v in values.items() if v}
    if subject:
        query["subject"] = str(subject)
    return ui.render(
        "tracker/list.html",
        title=ui.gettext("Use of my data"),
        page=page,
        form=form,
        departments=tracker.departments_seen(session, subject_id=page.subject_id),
        own=page.subject_id == actor.account_id,
        query=query,
        status_code=422 if form.has_errors else 200,
        **_labels(ui),
    )


def _render_line(
    ui: Ui, session: DbSession, *, use_id: int, form: FormState | None = None, status: int = 200
) -> Response:
    actor = ui.require_actor()
    line = tracker.get_line(session, actor=actor, use_id=use_id)
    return ui.render(
        "tracker/line.html",
        title=ui.gettext("A use of my data"),
        line=line,
        own=tracker.line_row(session, use_id=use_id).subject_id == actor.account_id,  # type: ignore[union-attr]
        form=form or FormState(),
        status_code=status,
        **_labels(ui),
    )


@router.get("/my/data-usage/{use_id}")
def line_page(use_id: RowId, ui: PageUi, session: DbSession) -> Response:
    """One use: what, who, why, its ledger receipt, and the objection form or its answer."""
    return _render_line(ui, session, use_id=use_id)


@router.get("/my/data-usage/{use_id}/receipt.json")
def own_receipt_file(use_id: RowId, ui: PageUi, session: DbSession) -> Response:
    """The line's receipt with the opening, as a file to keep or hand to someone."""
    receipt = tracker.own_receipt(session, actor=ui.require_actor(), use_id=use_id)
    body = json.dumps(receipt, ensure_ascii=False, sort_keys=True, indent=2)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="data-use-{use_id}-receipt.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/my/data-usage/{use_id}/objection")
def object_page(
    use_id: RowId,
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    text: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The citizen objects to this use; back to the line, or the form with the message."""
    actor = ui.require_actor()
    form = FormState(values={"text": text})
    try:
        with uow.attempt(session):
            objections.file_objection(
                session, actor=actor, use_id=use_id, text=text, settings=settings
            )
    except Invalid:
        form.add("text", ui.gettext(TEXT_MESSAGE))
        return _render_line(ui, session, use_id=use_id, form=form, status=422)
    except AppError as exc:
        if exc.status in (401, 403, 404):
            raise
        form.add("text", ui.gettext(exc.detail))
        return _render_line(ui, session, use_id=use_id, form=form, status=exc.status)
    return ui.redirect(f"/my/data-usage/{use_id}", notice="objection_filed")


def _render_desk(
    ui: Ui, session: DbSession, *, form: FormState | None = None, status: int = 200
) -> Response:
    actor = ui.require_actor()
    rows = objections.for_steward(session, actor=actor)
    late = objections.overdue(session, actor=actor) if str(actor.role) == "admin" else []
    return ui.render(
        "tracker/objections.html",
        title=ui.gettext("Objections to data use"),
        rows=rows,
        late=late,
        may_answer=str(actor.role) == "steward",
        form=form or FormState(),
        status_code=status,
        **_labels(ui),
    )


@router.get("/desk/data-objections")
def objections_page(ui: PageUi, session: DbSession) -> Response:
    """Stewards: the objections to their departments, earliest due first; the operator also
    sees every overdue one."""
    return _render_desk(ui, session)


@router.post("/desk/data-objections/{objection_id}/answer")
def answer_page(
    objection_id: RowId,
    ui: PageUi,
    session: DbSession,
    answer: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """A steward answers an objection; the citizen gets the answer."""
    actor = ui.require_actor()
    form = FormState(values={f"answer-{objection_id}": answer})
    try:
        with uow.attempt(session):
            objections.answer_objection(
                session, actor=actor, objection_id=objection_id, answer=answer
            )
    except Invalid:
        form.add(f"answer-{objection_id}", ui.gettext(TEXT_MESSAGE))
        return _render_desk(ui, session, form=form, status=422)
    except AppError as exc:
        if exc.status in (401, 403, 404):
            raise
        form.add(f"answer-{objection_id}", ui.gettext(exc.detail))
        return _render_desk(ui, session, form=form, status=exc.status)
    return ui.redirect("/desk/data-objections", notice="objection_answered")
