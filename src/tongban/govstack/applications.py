"""GovStack applications: files that are cases filed through cases' intake (issue #21)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.catalog import service as catalog
from tongban.govstack.catalogue import _published, _service_row
from tongban.govstack.clients import (
    _MAX_ID,
    _STATUS_TITLES,
    _STEP_NAMES,
    Client,
    _actor,
    _system_account,
    _system_username,
    record_call,
)
from tongban.govstack.models import (
    GovstackApplicant,
    GovstackApplication,
    GovstackDocument,
)
from tongban.govstack.steps import _open_step, _task_id, _with_cases
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.db.uow import attempt
from tongban.platform.errors import Conflict, FieldError, Invalid, NotFound


def _applicant(
    session: Session, *, client: Client, ref: str, name: str | None, settings: Settings
) -> Actor:
    stmt = select(GovstackApplicant).where(
        GovstackApplicant.client_id == client.id, GovstackApplicant.applicant_ref == ref
    )
    row = session.scalar(stmt)
    if row is None:
        try:
            with attempt(session):
                account = _system_account(
                    session,
                    username=_system_username("gs-app", f"{client.id}/{ref}"),
                    role=Role.CITIZEN,
                    department_code=None,
                    region_code=None,
                    display_name=(name or f"GovStack applicant {ref}")[:100],
                    settings=settings,
                )
                row = GovstackApplicant(client_id=client.id, applicant_ref=ref, account_id=account)
                session.add(row)
                session.flush()
        except (IntegrityError, Conflict):
            # The same applicant's first two applications at once (PostgreSQL: the other
            # committed first); the step was undone alone, and the other's record serves.
            row = session.scalar(stmt)
            if row is None:
                raise
    return _actor(session, row.account_id)


def _text(value: Any, field: str, *, limit: int = 200, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise Invalid(f"{field} is required.", errors=[FieldError(field, "required")])
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise Invalid(f"{field} must be a string.", errors=[FieldError(field, "not a string")])
    text = str(value).strip()
    if len(text) > limit:
        raise Invalid(
            f"{field} is too long (at most {limit}).", errors=[FieldError(field, "too long")]
        )
    if required and not text:
        raise Invalid(f"{field} is required.", errors=[FieldError(field, "required")])
    return text or None


def _submission(body: dict[str, Any]) -> dict[str, Any]:
    """An applicationFileSubmit checked for shape: applicantId, and the optional rest."""
    out: dict[str, Any] = {
        "applicantId": _text(body.get("applicantId"), "applicantId", required=True)
    }
    for key in ("applicationName", "created"):
        value = _text(body.get(key), key)
        if value is not None:
            out[key] = value
    form = body.get("formData")
    if form is not None:
        if not isinstance(form, dict) or not isinstance(form.get("data", {}), dict):
            raise Invalid(
                "formData must be an object whose data is an object.",
                errors=[FieldError("formData", "not an object")],
            )
        out["formData"] = form
    urls = body.get("documentUrls")
    if urls is not None:
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise Invalid(
                "documentUrls must be an array of strings.",
                errors=[FieldError("documentUrls", "not an array of strings")],
            )
        out["documentUrls"] = urls[:100]
    return out


def _case_form(impl: catalog.ImplementationRead, submitted: dict[str, Any]) -> dict[str, Any]:
    """The implementation's own fields out of formData.data (the rest stays with the file)."""
    data = (submitted.get("formData") or {}).get("data") or {}
    names = {str(f["name"]) for f in impl.form_fields}
    return {key: value for key, value in data.items() if key in names}


def _materials(
    session: Session, *, client: Client, urls: list[str], applicant: Actor, settings: Settings
) -> list[cases.MaterialRef]:
    """The documents an application names, as the applicant's materials (checklist lines)."""
    refs: list[cases.MaterialRef] = []
    store = cases.BlobStore(settings.data_dir / "blobs")
    for index, url in enumerate(urls):
        document_id = url.rstrip("/").rsplit("/", 1)[-1]
        row = session.scalar(
            select(GovstackDocument).where(
                GovstackDocument.document_id == document_id[:40],
                GovstackDocument.client_id == client.id,
            )
        )
        if row is None:
            continue  # a link to elsewhere (the client's own store) stays a link
        if not row.material:
            raise Invalid(
                "A document attached to an application must name its checklist line "
                "(upload it with ?additionalMetadata=<material name>).",
                errors=[FieldError(f"documentUrls[{index}]", "names no checklist line")],
            )
        # The applicant's own upload of the same bytes (checked again by content).
        cases.upload_file(session, actor=applicant, data=store.get(row.sha256), settings=settings)
        refs.append(cases.MaterialRef(name=row.material, sha256=row.sha256))
    return refs


def file_application(
    session: Session,
    *,
    client: Client,
    service_id: str,
    body: dict[str, Any],
    settings: Settings,
    file_id: str | None = None,
) -> dict[str, Any]:
    """File an application as a case of the service's implementation; the file's answer."""
    service = _service_row(session, service_id)
    submitted = _submission(body)
    impl = catalog.get_implementation(session, code=service.implementation_code)
    applicant = _applicant(
        session,
        client=client,
        ref=str(submitted["applicantId"]),
        name=submitted.get("applicationName"),
        settings=settings,
    )
    materials = _materials(
        session,
        client=client,
        urls=list(submitted.get("documentUrls") or []),
        applicant=applicant,
        settings=settings,
    )
    try:
        data = cases.CaseCreate(
            implementation=impl.code, form=_case_form(impl, submitted), materials=materials
        )
    except ValueError as exc:
        raise Invalid(
            "The form data is too large.", errors=[FieldError("formData", str(exc))]
        ) from None
    case, _ = cases.file_case(session, actor=applicant, data=data, settings=settings)
    row = GovstackApplication(
        file_id=file_id or case.number,
        case_number=case.number,
        service_id=service.service_id,
        client_id=client.id,
        applicant_ref=str(submitted["applicantId"]),
        submitted=submitted,
        document_urls=list(submitted.get("documentUrls") or []),
    )
    session.add(row)
    session.flush()
    record_call(
        session,
        client=client,
        operation="application.filed",
        data={"file": row.file_id[:64], "case": case.number, "service": service.service_id[:64]},
        personal={"applicant_ref": row.applicant_ref},
    )
    return _file_json(session, row, case)


def _application_row(session: Session, file_id: str) -> GovstackApplication:
    row = (
        session.scalar(select(GovstackApplication).where(GovstackApplication.file_id == file_id))
        if len(file_id) <= _MAX_ID
        else None
    )
    if row is None:
        raise NotFound(f"No application file {file_id[:_MAX_ID]!r}.")
    return row


def _status(case: cases.CaseView) -> dict[str, str]:
    if case.state == cases.State.SUPPLEMENT_REQUESTED.value:
        code = "SENDBACK"
    elif case.decision == "approved":
        code = "APPROVED"
    elif case.decision == "rejected" or case.state in (
        cases.State.NOT_ACCEPTED.value,
        cases.State.WITHDRAWN.value,
    ):
        code = "REJECTED"
    else:
        code = "PENDING"
    return {"code": code, "title": _STATUS_TITLES[code]}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _file_json(session: Session, row: GovstackApplication, case: cases.CaseView) -> dict[str, Any]:
    _, impl = _published(session, row.service_id)
    return {
        "fileId": row.file_id,
        "applicantId": row.applicant_ref,
        "serviceId": row.service_id,
        "serviceName": impl.item_name_en or impl.item_name,
        "registered": _iso(row.registered_at),
        "status": _status(case),
        "ended": case.state in cases.FINAL_STATES,
        "applicationData": _as_sent(row.submitted),
    }


def _objects(data: Any) -> dict[str, Any]:
    """A map whose values are objects, as the spec's formData and additionalData are: a value
    that is not an object is given as {"value": …}."""
    if not isinstance(data, dict):
        return {}
    return {str(k): v if isinstance(v, dict) else {"value": v} for k, v in data.items()}


def _as_sent(submitted: dict[str, Any]) -> dict[str, Any]:
    """The applicationFileSubmit as stored, its form data in the spec's shape."""
    answer = dict(submitted)
    form = submitted.get("formData")
    if isinstance(form, dict) and "data" in form:
        answer["formData"] = {**form, "data": _objects(form["data"])}
    return answer


def application(session: Session, *, client: Client, file_id: str) -> dict[str, Any]:
    """An application file, or NotFound."""
    row = _application_row(session, file_id)
    case = cases.get_case(session, number=row.case_number)
    record_call(
        session,
        client=client,
        operation="application.read",
        data={"file": row.file_id[:64], "case": row.case_number},
    )
    return _file_json(session, row, case)


def update_application(
    session: Session, *, client: Client, file_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Keep the operator's form data on the file (the case's own form stays as filed)."""
    row = _application_row(session, file_id)
    # The file's applicant stays who filed it: an operator's update does not move the case.
    submitted = _submission({**row.submitted, **body, "applicantId": row.applicant_ref})
    row.submitted = submitted
    row.document_urls = list(submitted.get("documentUrls") or [])
    row.updated_at = datetime.now(UTC)
    session.flush()
    case = cases.get_case(session, number=row.case_number)
    record_call(
        session,
        client=client,
        operation="application.updated",
        data={"file": row.file_id[:64], "case": row.case_number},
        private={"submitted": submitted},
    )
    return _file_json(session, row, case)


# The most lines one list answer carries (maxResult asks for fewer; firstResult pages on).
MAX_PAGE = 1000


def _page(rows: list[Any], first: int | None, most: int | None) -> list[Any]:
    start = max(0, first or 0)
    return rows[start : start + min(MAX_PAGE, MAX_PAGE if most is None else most)]


def applications(
    session: Session,
    *,
    client: Client,
    service_id: str | None = None,
    applicant_id: str | None = None,
    first: int | None = None,
    most: int | None = None,
    descending: bool = False,
) -> list[dict[str, Any]]:
    """The application files filed through GovStack, filtered and paged, by registration."""
    stmt = select(GovstackApplication)
    if service_id is not None:
        stmt = stmt.where(GovstackApplication.service_id == service_id[:_MAX_ID])
    if applicant_id is not None:
        stmt = stmt.where(GovstackApplication.applicant_ref == applicant_id[:200])
    order = GovstackApplication.registered_at, GovstackApplication.id
    stmt = stmt.order_by(*(o.desc() for o in order) if descending else order)
    limit = min(MAX_PAGE, MAX_PAGE if most is None else most)
    rows = session.scalars(stmt.offset(max(0, first or 0)).limit(limit)).all()
    answer = []
    pairs, chosen = _with_cases(session, rows)
    for row, case in pairs:
        service, impl = _published(session, row.service_id)
        item: dict[str, Any] = {
            "fileId": row.file_id,
            "applicantId": row.applicant_ref,
            "registered": _iso(row.registered_at),
            "serviceName": impl.item_name_en or impl.item_name,
            "serviceId": row.service_id,
            "eformId": service.eform_id,
            "status": _status(case),
            "description": f"{case.item_name} ({case.number})",
            "documentUrls": list(row.document_urls),
            "additionalMeta": {"data": {"case": {"number": case.number, "state": case.state}}},
        }
        if row.submitted.get("created"):
            item["created"] = str(row.submitted["created"])
        step = _open_step(case)
        if step is not None:
            item["mainTaskId"] = _task_id(session, case.number, step, chosen)
            item["taskTitle"] = _STEP_NAMES[step]
            item["roleId"] = "official"
            item["roleName"] = "Official of the competent department"
        answer.append(item)
    record_call(
        session, client=client, operation="applications.listed", data={"count": len(answer)}
    )
    return answer
