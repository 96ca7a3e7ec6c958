"""The stewards' forms: publish a resource, file a sharing request, answer one, revoke an
agreement. Each posts here, does what the API does (same services, same checks, same events)
and goes back to its page; bad input re-renders the page with the values and a readable
message, nothing written."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form
from pydantic import ValidationError
from starlette.responses import Response

from tongban.exchange import catalogue, requests
from tongban.exchange.pages import render_agreements, render_catalogue, render_requests
from tongban.exchange.schemas import RequestIn, ResourceIn
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.db import uow
from tongban.platform.errors import AppError, Invalid
from tongban.platform.web.deps import DbSession, RowId
from tongban.platform.web.rendering import N_, NOTICES, FormState, Ui

router = APIRouter()

NOTICES.update(
    resource_published=N_("The data resource is published in the catalogue."),
    request_filed=N_("The sharing request is sent to the providing department."),
    request_decided=N_("Your answer to the sharing request is recorded."),
    agreement_revoked=N_("The agreement is revoked: fetches under it stop at once."),
)
CHECK_FIELD = N_("Check this field.")
REVOKE_REASON = N_("Give the reason for revoking the agreement.")
# The services' refusals a steward may meet, marked here so that the catalogs translate them.
SERVICE_MESSAGES = (
    N_("A refusal states its reasons."),
    N_("Ask only for fields the resource has."),
    N_("Each field is named once."),
    N_("Name catalog items by their codes."),
    N_("Name the consumer department."),
    N_("No such consumer department."),
    N_("No such data resource."),
    N_("No such provider department."),
    N_("This code belongs to another provider's resource."),
)
_LIST = re.compile(r"[,，、\s]+")


def _split(text: str) -> list[str]:
    """A list typed in one box: commas (either width), 、 or spaces between the entries."""
    return [part for part in _LIST.split(text.strip()) if part]


def _fields(text: str) -> list[dict[str, Any]]:
    """Resource fields, one a line: `code label [personal]`."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if parts:
            personal = len(parts) > 2 and parts[2].lower() in ("personal", "个人", "yes", "是")
            out.append({"name": parts[0], "label": " ".join(parts[1:2]), "personal": personal})
    return out


def _invalid(ui: Ui, form: FormState, exc: ValidationError) -> FormState:
    """Pydantic's complaints, one per field of the form, in the reader's language."""
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        if not form.error(name):
            form.add(name, ui.gettext(CHECK_FIELD))
    return form


def _refused(ui: Ui, form: FormState, exc: AppError) -> FormState:
    """The service's refusal on the field it names (its message, in the reader's language)."""
    fields = [e.field for e in exc.errors] if isinstance(exc, Invalid) and exc.errors else []
    named = [name for name in fields if name in form.values] or ["form"]
    for name in named:
        form.add(name, ui.gettext(exc.detail))
    return form


@router.post("/exchange/resources")
def publish_resource(
    ui: PageUi,
    session: DbSession,
    code: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    provider: Annotated[str, Form(max_length=18)] = "",
    sharing: Annotated[str, Form(max_length=20)] = "",
    conditions: Annotated[str, Form(max_length=2000)] = "",
    fields: Annotated[str, Form(max_length=6000)] = "",
    materials: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """A provider's steward publishes a resource (minimal: code, name, terms, fields)."""
    actor = ui.require_actor()
    identity.authorize(actor, "exchange.resource.publish")
    values = {
        "code": code,
        "name": name,
        "provider": provider,
        "sharing": sharing,
        "conditions": conditions,
        "fields": fields,
        "materials": materials,
    }
    form = FormState(values=values)
    try:
        data = ResourceIn(
            code=code.strip().upper(),
            name=name.strip(),
            provider=provider.strip().upper() or (actor.department_code or ""),
            sharing=sharing,  # type: ignore[arg-type]  # pydantic checks the value
            conditions=conditions.strip() or None,
            fields=_fields(fields),  # type: ignore[arg-type]
            materials=_split(materials),
        )
    except ValidationError as exc:
        return render_catalogue(ui, session, form=_invalid(ui, form, exc), status_code=422)
    try:
        with uow.attempt(session):
            catalogue.publish_resource(session, actor=actor, data=data)
    except AppError as exc:
        form = _refused(ui, form, exc)
        return render_catalogue(ui, session, form=form, status_code=exc.status)
    return ui.redirect(f"/exchange?q={data.code}", notice="resource_published")


@router.post("/exchange/requests")
def file_request(
    ui: PageUi,
    session: DbSession,
    resource: Annotated[str, Form(max_length=40)] = "",
    consumer: Annotated[str, Form(max_length=18)] = "",
    fields: Annotated[str, Form(max_length=2000)] = "",
    purpose: Annotated[str, Form(max_length=500)] = "",
    legal_basis: Annotated[str, Form(max_length=500)] = "",
    items: Annotated[str, Form(max_length=1000)] = "",
    duration_days: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """A consumer's steward asks a provider for a resource's minimum fields (供需对接)."""
    actor = ui.require_actor()
    identity.authorize(actor, "exchange.request.file")
    form = FormState(
        values={
            "resource": resource,
            "consumer": consumer,
            "fields": fields,
            "purpose": purpose,
            "legal_basis": legal_basis,
            "items": items,
            "duration_days": duration_days,
        }
    )
    try:
        data = RequestIn(
            resource=resource.strip().upper(),
            consumer=consumer.strip().upper() or None,
            fields=_split(fields),
            purpose=purpose.strip(),
            legal_basis=legal_basis.strip(),
            items=_split(items),
            duration_days=duration_days.strip() or 0,  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        return render_requests(ui, session, form=_invalid(ui, form, exc), status_code=422)
    try:
        with uow.attempt(session):
            requests.file_request(session, actor=actor, data=data)
    except AppError as exc:
        form = _refused(ui, form, exc)
        return render_requests(ui, session, form=form, status_code=exc.status)
    return ui.redirect("/exchange/requests", notice="request_filed")


@router.post("/exchange/requests/{request_id}/decision")
def decide_request(
    request_id: RowId,
    ui: PageUi,
    session: DbSession,
    decision: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """The provider's steward approves (making the agreement) or refuses with reasons."""
    actor = ui.require_actor()
    identity.authorize(actor, "exchange.request.decide")
    form = FormState(values={f"reason-{request_id}": reason})
    if decision not in ("approve", "refuse"):
        form.add("form", ui.gettext(CHECK_FIELD))
        return render_requests(ui, session, form=form, status_code=422)
    try:
        with uow.attempt(session):
            requests.decide_request(
                session,
                actor=actor,
                request_id=request_id,
                approve=decision == "approve",
                reason=reason.strip() or None,
            )
    except AppError as exc:
        form.add("form", f"#{request_id}: {_message(ui, exc)}")
        return render_requests(ui, session, form=form, status_code=exc.status)
    return ui.redirect("/exchange/requests", notice="request_decided")


@router.post("/exchange/agreements/{agreement_id}/revoke")
def revoke_agreement(
    agreement_id: RowId,
    ui: PageUi,
    session: DbSession,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Revoke an agreement (with a reason): fetches under it stop at once."""
    actor = ui.require_actor()
    identity.authorize(actor, "exchange.agreement.revoke")
    form = FormState(values={f"reason-{agreement_id}": reason})
    if len(reason.strip()) < 2:
        form.add("form", f"#{agreement_id}: {ui.gettext(REVOKE_REASON)}")
        return render_agreements(ui, session, form=form, status_code=422)
    try:
        with uow.attempt(session):
            requests.revoke_agreement(
                session, actor=actor, agreement_id=agreement_id, reason=reason.strip()
            )
    except AppError as exc:
        form.add("form", f"#{agreement_id}: {_message(ui, exc)}")
        return render_agreements(ui, session, form=form, status_code=exc.status)
    return ui.redirect("/exchange/agreements", notice="agreement_revoked")


def _message(ui: Ui, exc: AppError) -> str:
    """The error's message (in the reader's language where the catalogs know it)."""
    return ui.gettext(exc.detail)
