"""HTML pages of consent: the citizen's consents (我的数据授权) and one request in plain language
with its grant, refuse and revoke forms; the clerk's counter page that records a consent
signed on paper; the department's view of the consents it asked for; the stewards' page of
the uses that need consent (set one, withdraw one with the reason). No JavaScript; every
form carries the session's CSRF token; a refusal is said in the reader's language."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, UploadFile
from pydantic import ValidationError
from starlette.responses import Response

from tongban.consent import checks, consents
from tongban.consent.consents import ConsentView
from tongban.consent.schemas import PURPOSES, RequirementIn
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.identity.service import Role
from tongban.platform.db import uow
from tongban.platform.errors import AppError, Invalid, PayloadTooLarge
from tongban.platform.web.deps import AppSettings, DbSession, RowId
from tongban.platform.web.rendering import N_, NOTICES, FormState, add_templates

router = APIRouter(tags=["consent pages"], include_in_schema=False)
add_templates(FilePath(__file__).parent / "templates")

ConsentId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]

NOTICES.update(
    consent_granted=N_("You agreed. The department may use these data only as described."),
    consent_refused=N_("You refused. The department may not use these data for this."),
    consent_revoked=N_("Your consent is withdrawn: the department can no longer fetch the data."),
    consent_recorded=N_("The consent signed at the counter is recorded."),
)
STATUSES: dict[str, str] = {
    "requested": N_("Waiting for your answer"),
    "granted": N_("Agreed"),
    "refused": N_("Refused by the person"),
    "revoked": N_("Withdrawn"),
    "expired": N_("Expired"),
}
# "{per} at most {n} times"
PERIODS: dict[str, str] = {
    "HOUR": N_("Per hour"),
    "DAY": N_("Per day"),
    "MONTH": N_("Per month"),
    "YEAR": N_("Per year"),
    "INF": N_("In all"),
}
VIA: dict[str, str] = {
    "online": N_("by the person online"),
    "proxy": N_("by a family member with authorisation"),
    "counter": N_("on paper at a service counter"),
}
# The services' refusals a reader may meet, marked here so that the catalogs translate them.
SERVICE_MESSAGES = (
    N_("Only a granted consent can be revoked."),
    N_("This consent request was already answered."),
    N_("This consent request has lapsed: its period is over."),
    N_("This resident ID is not the one the request is about."),
    N_("Upload the signed paper as a PDF, JPEG or PNG scan."),
    N_("Only the person concerned, or their agent within scope, may answer this request."),
    N_("No open consent requests for this person."),
)
FORBIDDEN_TEXT = SERVICE_MESSAGES[5]


def _labels(ui: Any) -> dict[str, Any]:
    return {
        "statuses": {k: ui.gettext(v) for k, v in STATUSES.items()},
        "periods": {k: ui.gettext(v) for k, v in PERIODS.items()},
        "purposes": {k: ui.gettext(v) for k, v in PURPOSES.items()},
        "via": {k: ui.gettext(v) for k, v in VIA.items()},
    }


def _message(ui: Any, exc: AppError) -> str:
    if isinstance(exc, consents.RefusedGrant) and str(exc.detail).startswith("Only the person"):
        return ui.gettext(FORBIDDEN_TEXT)
    text = str(exc.detail)
    if text.startswith("This consent request was already answered"):
        text = "This consent request was already answered."
    if text.startswith("Only a granted consent can be revoked"):
        text = "Only a granted consent can be revoked."
    return ui.gettext(text)


@router.get("/my/consents")
def my_consents_page(ui: PageUi, session: DbSession) -> Response:
    """The citizen's consents: requests waiting for an answer first, then the others."""
    return render_list(ui, session)


def render_list(
    ui: Any, session: Any, *, form: FormState | None = None, status_code: int = 200
) -> Response:
    """The citizen's consents (a refused answer's message on top, when there is one)."""
    actor = ui.require_actor()
    rows = consents.my_consents(session, actor=actor)
    return ui.render(
        "consent/my_consents.html",
        title=ui.gettext("Consents to use my data"),
        waiting=[c for c in rows if c.status == "requested"],
        others=[c for c in rows if c.status != "requested"],
        me=actor.account_id,
        form=form or FormState(),
        status_code=status_code,
        **_labels(ui),
    )


def render_consent(
    ui: Any,
    session: Any,
    consent: ConsentView,
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    """One consent in plain language, with the forms its subject (or agent) may use."""
    actor = ui.require_actor()
    may_answer = actor.role is Role.CITIZEN
    return ui.render(
        "consent/consent.html",
        title=ui.gettext("A request to use your data"),
        c=consent,
        form=form or FormState(),
        may_answer=may_answer,
        for_someone_else=consent.subject_account_id != actor.account_id,
        status_code=status_code,
        **_labels(ui),
    )


@router.get("/my/consents/{consent_id}")
def consent_page(ui: PageUi, session: DbSession, consent_id: ConsentId) -> Response:
    """One request (or consent): who, which data, why, for what, from when to when, how often."""
    actor = ui.require_actor()
    return render_consent(ui, session, consents.get(session, actor=actor, uid=consent_id))


def _answer(ui: Any, session: Any, consent_id: str, action: str, settings: Any) -> Response:
    actor = ui.require_actor()
    step = uow.savepoint(session)
    try:
        if action == "grant":
            consents.grant(session, actor=actor, uid=consent_id, settings=settings)
        elif action == "refuse":
            consents.refuse(session, actor=actor, uid=consent_id)
        else:
            consents.revoke(session, actor=actor, uid=consent_id)
    except AppError as exc:
        if getattr(exc, "keeps_writes", False):
            step.keep()  # the refusal event stays; nothing else was written
        else:
            step.undo()
        form = FormState()
        form.add("form", _message(ui, exc))
        try:
            shown = consents.get(session, actor=actor, uid=consent_id)
        except AppError:  # not theirs to see (any more): their own list, with the message
            if exc.status == 404:
                raise
            return render_list(ui, session, form=form, status_code=exc.status)
        return render_consent(ui, session, shown, form=form, status_code=exc.status)
    step.keep()
    notice = {"grant": "consent_granted", "refuse": "consent_refused"}.get(
        action, "consent_revoked"
    )
    return ui.redirect(f"/my/consents/{consent_id}", notice=notice)


@router.post("/my/consents/{consent_id}/grant")
def grant_form(
    ui: PageUi, session: DbSession, settings: AppSettings, consent_id: ConsentId
) -> Response:
    """Agree: the node signs the consent artefact."""
    return _answer(ui, session, consent_id, "grant", settings)


@router.post("/my/consents/{consent_id}/refuse")
def refuse_form(
    ui: PageUi, session: DbSession, settings: AppSettings, consent_id: ConsentId
) -> Response:
    """Refuse the request."""
    return _answer(ui, session, consent_id, "refuse", settings)


@router.post("/my/consents/{consent_id}/revoke")
def revoke_form(
    ui: PageUi, session: DbSession, settings: AppSettings, consent_id: ConsentId
) -> Response:
    """Withdraw a consent: fetches under it stop at once."""
    return _answer(ui, session, consent_id, "revoke", settings)


# The clerk's counter ----------------------------------------------------------------------


def render_counter(
    ui: Any,
    session: Any,
    *,
    found: list[ConsentView] | None = None,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    """The counter page: find a person's open requests, record their paper consent."""
    identity.authorize(ui.require_actor(), "consent.record")
    return ui.render(
        "consent/counter.html",
        title=ui.gettext("Consent given at the counter"),
        found=found,
        form=form or FormState(),
        status_code=status_code,
        **_labels(ui),
    )


@router.get("/desk/consents")
def counter_page(ui: PageUi, session: DbSession) -> Response:
    """The clerk's page: look up a person's open consent requests by their resident ID."""
    return render_counter(ui, session)


@router.post("/desk/consents")
def counter_find(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    resident_id: Annotated[str, Form(max_length=18)] = "",
) -> Response:
    """The person's open requests (the ID card was checked in person)."""
    actor = ui.require_actor()
    identity.authorize(actor, "consent.record")
    form = FormState(values={"resident_id": resident_id})
    try:
        uids = consents.pending_for_subject(session, resident_id=resident_id, settings=settings)
    except Invalid as exc:
        form.add("resident_id", ui.gettext(exc.detail))
        return render_counter(ui, session, form=form, status_code=422)
    found = [consents.get(session, actor=actor, uid=uid) for uid in uids]
    if not found:
        form.add("resident_id", ui.gettext("No open consent requests for this person."))
    return render_counter(ui, session, found=found, form=form)


@router.post("/desk/consents/{consent_id}/record")
def counter_record(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    consent_id: ConsentId,
    resident_id: Annotated[str, Form(max_length=18)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Record the consent the person signed on paper: the scan is checked and kept."""
    actor = ui.require_actor()
    identity.authorize(actor, "consent.record")
    form = FormState(values={"resident_id": resident_id})
    step = uow.savepoint(session)
    try:
        if file is None or not file.filename:
            raise Invalid("Upload the signed paper as a PDF, JPEG or PNG scan.")
        data = file.file.read(settings.upload_max_bytes + 1)
        if len(data) > settings.upload_max_bytes:
            raise PayloadTooLarge(f"The file is over {settings.upload_max_bytes} bytes.")
        consents.record_at_counter(
            session,
            actor=actor,
            uid=consent_id,
            resident_id=resident_id,
            paper=data,
            settings=settings,
        )
    except AppError as exc:
        if getattr(exc, "keeps_writes", False):
            step.keep()
        else:
            step.undo()
        form.add("form", _message(ui, exc))
        return render_counter(ui, session, form=form, status_code=exc.status)
    step.keep()
    return ui.redirect("/desk/consents", notice="consent_recorded")


# The department's view ---------------------------------------------------------------------


@router.get("/consents")
def department_page(ui: PageUi, session: DbSession) -> Response:
    """The consents the department (steward: the jurisdiction's) asked for, with their state."""
    actor = ui.require_actor()
    rows = consents.department_consents(session, actor=actor)
    return ui.render(
        "consent/department.html",
        title=ui.gettext("Consent requests"),
        rows=rows,
        waiting=ui.gettext("Waiting for the person's answer"),
        **_labels(ui),
    )


# The stewards' consent requirements ------------------------------------------------------

NOTICES.update(
    requirement_set=N_("The requirement is in force: these uses now need the person's consent."),
    requirement_withdrawn=N_("The requirement is withdrawn: these uses no longer need consent."),
)
REQUIREMENT_MESSAGES = (
    N_("Only the provider's or the consumer's steward sets this."),
    N_("This consent requirement was already withdrawn."),
    N_("Say why the requirement is withdrawn (2 to 500 characters)."),
    N_("No such consent requirement."),
)
NO_RESOURCE = N_("No data resource has this code.")


def render_requirements(
    ui: Any, session: Any, *, form: FormState | None = None, status_code: int = 200
) -> Response:
    """The requirements (in force first) with their withdraw forms, and the form to add one."""
    actor = ui.require_actor()
    rows = checks.requirements(session, actor=actor)
    return ui.render(
        "consent/requirements.html",
        title=ui.gettext("Uses that need the person's consent"),
        rows=rows,
        form=form or FormState(),
        status_code=status_code,
    )


@router.get("/desk/consent-requirements")
def requirements_page(ui: PageUi, session: DbSession) -> Response:
    """Stewards and operators: which uses of a data resource need the person's consent."""
    return render_requirements(ui, session)


@router.post("/desk/consent-requirements")
def requirement_add(
    ui: PageUi,
    session: DbSession,
    resource: Annotated[str, Form(max_length=40)] = "",
    consumer: Annotated[str, Form(max_length=18)] = "",
    exempt_items: Annotated[str, Form(max_length=4000)] = "",
    basis: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Set a requirement: the resource's use (by one department, or any) needs consent."""
    actor = ui.require_actor()
    identity.authorize(actor, "consent.requirement.set")
    values = {
        "resource": resource,
        "consumer": consumer,
        "exempt_items": exempt_items,
        "basis": basis,
    }
    form = FormState(values=values)
    try:
        data = RequirementIn(
            resource=resource.strip(),
            consumer=consumer.strip().upper() or None,
            exempt_items=exempt_items.replace(",", " ").replace("，", " ").split(),
            basis=basis.strip(),
        )
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            form.add(name, ui.gettext("Check this field."))
        return render_requirements(ui, session, form=form, status_code=422)
    step = uow.savepoint(session)
    try:
        checks.set_requirement(session, actor=actor, data=data)
    except AppError as exc:
        step.undo()
        if str(exc.detail).startswith("No data resource"):
            form.add("resource", ui.gettext(NO_RESOURCE))
        else:
            form.add("form", _message(ui, exc))
        return render_requirements(ui, session, form=form, status_code=exc.status)
    step.keep()
    return ui.redirect("/desk/consent-requirements", notice="requirement_set")


@router.post("/desk/consent-requirements/{requirement_id}/withdraw")
def requirement_withdraw(
    ui: PageUi,
    session: DbSession,
    requirement_id: RowId,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Withdraw a requirement, with the reason (recorded)."""
    actor = ui.require_actor()
    identity.authorize(actor, "consent.requirement.set")
    step = uow.savepoint(session)
    try:
        checks.withdraw_requirement(
            session, actor=actor, requirement_id=requirement_id, reason=reason
        )
    except AppError as exc:
        step.undo()
        if exc.status == 404:
            raise
        form = FormState()
        form.add("form", _message(ui, exc))
        return render_requirements(ui, session, form=form, status_code=exc.status)
    step.keep()
    return ui.redirect("/desk/consent-requirements", notice="requirement_withdrawn")
