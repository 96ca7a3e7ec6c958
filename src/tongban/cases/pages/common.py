"""What the cases pages share: labels and messages, the drafts (kept on the server for their
account) and the desk's applicant (a sealed cookie bound to the clerk), typed form fields and
uploads (each the caller's own)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile as FormFile
from starlette.responses import Response

from tongban.cases import drafts, intake, next_steps
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.db import MAX_ROW_ID
from tongban.platform.errors import (
    Invalid,
    PayloadTooLarge,
    PreconditionFailed,
)
from tongban.platform.web.deps import DbSession
from tongban.platform.web.rendering import N_, NOTICES, FormState, Ui

# Where drafts were kept before they moved to the server: only ever deleted now.
# Materials a case got by data sharing: exchange sits above cases, so the shell hands the lookup
# in (as identity's item names); until then a case got nothing by sharing.
SharedLookup = Callable[[Any, str], list[Any]]
_shared: list[SharedLookup] = [lambda _session, _number: []]


def set_shared_materials(lookup: SharedLookup) -> None:
    """Materials a case got by data sharing (exchange is above cases: the shell hands it in)."""
    _shared[0] = lookup


# Catalog material name -> the data resource standing in for it (the apply form says 无需提交).
_shared_resources: list[Callable[[Any], dict[str, str]]] = [lambda _session: {}]


def set_shared_resources(lookup: Callable[[Any], dict[str, str]]) -> None:
    """Papers departments share, for the apply form (the shell hands exchange's lookup in)."""
    _shared_resources[0] = lookup


def shared_resources(session: Any) -> dict[str, str]:
    """Catalog material name -> the data resource that stands in for it."""
    return _shared_resources[0](session)


# 免证办 (credentials is above cases: the shell hands these in): the e-licences an account
# holds for checklist lines, and those that stood in for a case's lines.
_licence_offers: list[Callable[[Any, int, list[str]], dict[str, list[Any]]]] = [
    lambda _session, _account, _names: {}
]
_licence_uses: list[Callable[[Any, str], dict[str, Any]]] = [lambda _session, _number: {}]
# Checklist line -> the licence types that stand in for it (the desk offers 使用电子证照).
_licence_lines: list[Callable[[list[str]], dict[str, list[str]]]] = [lambda _names: {}]


def set_licences(
    *,
    offers: Callable[[Any, int, list[str]], dict[str, list[Any]]],
    uses: Callable[[Any, str], dict[str, Any]],
    lines: Callable[[list[str]], dict[str, list[str]]] | None = None,
) -> None:
    """Hand in the e-licence lookups (the shell, from credentials)."""
    _licence_offers[0] = offers
    _licence_uses[0] = uses
    if lines is not None:
        _licence_lines[0] = lines


def licence_lines(names: list[str]) -> dict[str, list[str]]:
    """Checklist line -> the names of the licence types that can stand in for it."""
    return _licence_lines[0](names)


def licence_offers(session: Any, account_id: int, names: list[str]) -> dict[str, list[Any]]:
    """Checklist line -> (credential id, licence type, issuer) of the account's licences."""
    return _licence_offers[0](session, account_id, names)


def licence_uses(session: Any, number: str) -> dict[str, Any]:
    """Checklist line -> the verified e-licence that stood in for it on a case."""
    return _licence_uses[0](session, number)


def shared_materials(session: Any, number: str) -> dict[str, Any]:
    """Checklist line name -> the sharing fetch that stands in for it."""
    return {name: m for m in _shared[0](session, number) for name in m.materials}


DRAFT_COOKIE = "tb_draft"
DESK_COOKIE = "tb_desk"
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
    # (icon, label): never colour alone. The icons are in GB 2312, so every Chinese phone's
    # font has them (⏸ and ⏰ showed as empty boxes on phones without an emoji font).
    "overdue": ("▲", N_("Overdue")),
    "due_soon": ("●", N_("Due soon")),
    "ok": ("√", N_("On time")),
    "paused": ("‖", N_("Clock stopped")),
    "none": ("", N_("No deadline")),
}
ACTIONS: dict[str, str] = {
    "accept": N_("Accept the case"),
    "refuse": N_("Do not accept"),
    "request-supplement": N_("Ask for missing papers (补正)"),
    "supplement": N_("Supply missing papers"),
    "review-supplement": N_("Check the answers to the missing papers"),
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
    "request-supplement": ("reason",),
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
    "case.review-supplement": N_("Answers to the missing papers checked"),
    "case.start-special": N_("Special procedure started"),
    "case.end-special": N_("Special procedure ended"),
    "case.co-handle": N_("Co-handling step done"),
    "case.approve": N_("Approved"),
    "case.reject": N_("Refused"),
    "case.complete": N_("Completed"),
    "case.withdraw": N_("Withdrawn"),
    "case.material_viewed": N_("Papers opened"),
    "case.applicant_id_viewed": N_("ID number viewed"),
    "review.rectified": N_("Your bad rating was followed up and fixed"),
    "case.result_viewed": N_("Decision document opened"),
    "case.bundle_settled": N_("All services of the application finished"),
    "federation.case_routed": N_("Sent to the node of the competent authority"),
    "federation.case_received": N_("Received from the node where it was filed"),
    "federation.case_followed": N_("Progress reported by the authority's node"),
    "federation.request_sent": N_("Request sent to the authority's node"),
    "federation.request_received": N_("Request received from the node where it was filed"),
    "federation.request_answered": N_("The authority's node answered the request"),
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
        "next_steps": next_steps.sentences(ui.gettext),
    }


# --- drafts (on the server) and the desk's applicant (a sealed cookie) ----------------------


# The desk's cookie is sealed (encrypted and authenticated with the node's key): it carries the
# applicant's full resident ID. It is bound to the clerk who checked the applicant (ignored for
# any other account, so a counter computer shared by clerks shows nobody else's applicant) and
# lives only as long as serving one person takes.
DESK_MAX_AGE = 30 * 60


def _read_cookie(request: Request, name: str, *, max_age: int) -> dict[str, Any]:
    raw = request.cookies.get(name)
    if not raw:
        return {}
    opened = identity.unseal(raw, max_age_seconds=max_age, settings=request.app.state.settings)
    if opened is None:
        return {}
    try:
        data = json.loads(opened)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _write_cookie(
    request: Request, response: Response, name: str, data: dict[str, Any], *, max_age: int
) -> None:
    sealed = identity.seal(
        json.dumps(data, ensure_ascii=False), settings=request.app.state.settings
    )
    response.set_cookie(
        name,
        sealed,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
        path="/",
    )


def _desk_applicant(request: Request, actor: identity.Actor) -> dict[str, Any]:
    """The applicant this clerk checked at the desk, or {} (none, expired, another clerk's)."""
    sealed = _read_cookie(request, DESK_COOKIE, max_age=DESK_MAX_AGE)
    applicant = sealed.get("applicant")
    if sealed.get("account") != actor.account_id or not isinstance(applicant, dict):
        return {}
    return applicant


def _keep_desk_applicant(
    request: Request, response: Response, actor: identity.Actor, applicant: dict[str, Any]
) -> None:
    _write_cookie(
        request,
        response,
        DESK_COOKIE,
        {"account": actor.account_id, "applicant": applicant},
        max_age=DESK_MAX_AGE,
    )


def _forget_desk_applicant(response: Response) -> None:
    response.delete_cookie(DESK_COOKIE, path="/")


def _draft(session: DbSession, actor: identity.Actor, code: str) -> dict[str, Any]:
    """The caller's saved application for an implementation (save and resume), or {}."""
    row = drafts.get_draft(session, account_id=actor.account_id, implementation_code=code)
    if row is None:
        return {}
    return {
        "form": dict(row.form_values or {}),
        "typed": dict(row.typed_values or {}),
        "for": row.on_behalf_of_id,
        "materials": [list(pair) for pair in row.materials or []],
    }


def _draft_codes(session: DbSession, actor: identity.Actor) -> list[str]:
    """The implementations of the caller's saved applications, the latest first."""
    return [d.implementation_code for d in drafts.list_drafts(session, account_id=actor.account_id)]


def _forget_old_draft_cookie(request: Request, response: Response) -> None:
    """Drafts used to live in a sealed cookie on the device: drop one that is still there."""
    if DRAFT_COOKIE in request.cookies:
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
        row = intake.receive_upload(session, actor=ui.require_actor(), data=data, settings=settings)
    except PayloadTooLarge:
        form.add(field, ui.gettext("The file is too large. Choose a smaller file."))
        return None
    except Invalid:
        form.add(field, ui.gettext(FILE_MESSAGE))
        return None
    return row.sha256
