"""The GovStack Registration building block on top of catalog and cases (issue #21).

GovStack concepts are answered from the domains' own rules, never copied: a service is a
catalog implementation published under a GovStack id; its eForm the implementation's form
fields as JSON Schema; an application file a case filed through cases' intake (routing,
clocks, events, ledger); a document an upload checked by content; a task the next step the
competent department takes on that case (accept, decide, complete), done through cases'
handling; statistics the counts of those cases' outcomes.

Callers are systems behind an Information Mediator (X-Road), named by the
`Information-Mediator-Client` header and registered here to a department: the adapter acts as
the client's system accounts and records every call as an event with the client as actor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.catalog import service as catalog
from tongban.events import service as events
from tongban.govstack.models import (
    GovstackApplicant,
    GovstackApplication,
    GovstackClient,
    GovstackDocument,
    GovstackService,
    GovstackTaskId,
)
from tongban.identity import service as identity
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.db.uow import attempt, transaction_memo
from tongban.platform.errors import Conflict, FieldError, Forbidden, Invalid, NotFound

__all__ = [
    "HEADER",
    "Client",
    "add_client",
    "application",
    "applications",
    "complete_task",
    "document",
    "eform",
    "eforms",
    "exists_task",
    "file_application",
    "get_service",
    "list_clients",
    "parse_document_payload",
    "publish_service",
    "record_call",
    "resolve_client",
    "services",
    "statistics",
    "task",
    "tasks",
    "update_application",
    "upload_document",
    "well_formed",
]

HEADER = "Information-Mediator-Client"
# INSTANCE/CLASS/MEMBER/SUBSYSTEM, as in eGovStack/GOV/90000009/eregistrations-dev.
_CLIENT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+$")
_MAX_ID = 100

# The steps an official takes on a case, in order, and the case states in which each waits.
STEPS = ("accept", "decide", "complete")
_STEP_NAMES = {"accept": "Accept the application", "decide": "Decide", "complete": "Complete"}
_OPEN_IN = {
    "accept": cases.State.RECEIVED.value,
    "decide": cases.State.ACCEPTED.value,
    "complete": (cases.State.APPROVED.value, cases.State.REJECTED.value),
}
# Where each step stands once the case is in a state: how many steps are done.
_DONE_STEPS = {
    cases.State.RECEIVED.value: 0,
    cases.State.SUPPLEMENT_REQUESTED.value: 0,
    cases.State.SPECIAL_PROCEDURE.value: 1,
    cases.State.ACCEPTED.value: 1,
    cases.State.APPROVED.value: 2,
    cases.State.REJECTED.value: 2,
    cases.State.COMPLETED.value: 3,
}
_STATUS_TITLES = {
    "PENDING": "Pending",
    "APPROVED": "Approved",
    "SENDBACK": "Sent back",
    "REJECTED": "Rejected",
}


def well_formed(header: str | None) -> bool:
    """True when the header has four non-empty `/`-separated parts of [A-Za-z0-9_-]."""
    return bool(header) and len(header or "") <= 200 and bool(_CLIENT_SHAPE.match(header or ""))


# --- clients ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """A registered calling system and the accounts the adapter acts as for it."""

    id: int
    client: str
    department_id: int
    department_code: str
    region_code: str
    handler: Actor
    desk: Actor
    is_default: bool


def _actor(session: Session, account_id: int) -> Actor:
    view = identity.get_account(session, account_id=account_id)
    role = Role(view.role)
    return Actor(
        account_id=view.id,
        username=view.username,
        role=role,
        department_id=view.department_id,
        department_code=view.department_code,
        jurisdiction=view.region_code if role is Role.OFFICIAL else None,
        display_name=view.display_name,
        via=events.Channel.API,
    )


def _client(session: Session, row: GovstackClient) -> Client:
    department = identity.get_department(session, department_id=row.department_id)
    return Client(
        id=row.id,
        client=row.client,
        department_id=row.department_id,
        department_code=department.code,
        region_code=department.region_code,
        handler=_actor(session, row.handler_id),
        desk=_actor(session, row.desk_id),
        is_default=row.is_default,
    )


def _system_username(prefix: str, text: str) -> str:
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def add_client(
    session: Session,
    *,
    client: str,
    department_code: str,
    default: bool = False,
    settings: Settings,
) -> Client:
    """Register a calling system to a department (idempotent), with its system accounts."""
    if not well_formed(client):
        raise Invalid(
            "A client is INSTANCE/CLASS/MEMBER/SUBSYSTEM (letters, digits, _ and -).",
            errors=[FieldError("client", "not INSTANCE/CLASS/MEMBER/SUBSYSTEM")],
        )
    department = identity.get_department_by_code(session, code=department_code)
    row = session.scalar(select(GovstackClient).where(GovstackClient.client == client))
    if row is None:
        handler = _system_account(
            session,
            username=_system_username("gs-op", client),
            role=Role.OFFICIAL,
            department_code=department.code,
            region_code=department.region_code,
            display_name=f"GovStack {client.rsplit('/', 1)[-1]}"[:100],
            settings=settings,
        )
        desk = _system_account(
            session,
            username=_system_username("gs-desk", client),
            role=Role.CITIZEN,
            department_code=None,
            region_code=None,
            display_name=f"GovStack {client.rsplit('/', 1)[-1]} uploads"[:100],
            settings=settings,
        )
        row = GovstackClient(
            client=client,
            department_id=department.id,
            handler_id=handler,
            desk_id=desk,
            is_default=False,
            active=True,
        )
        session.add(row)
        session.flush()
        events.record(
            session,
            action="govstack.client.registered",
            resource_type="govstack_client",
            resource_id=str(row.id),
            channel=events.Channel.CLI,
            data={"department": department.code, "default": default},
            private={"client": client},
        )
    if default and not row.is_default:
        for other in session.scalars(select(GovstackClient).where(GovstackClient.is_default)):
            other.is_default = False
        row.is_default = True
        session.flush()
    return _client(session, row)


def _system_account(
    session: Session,
    *,
    username: str,
    role: Role,
    department_code: str | None,
    region_code: str | None,
    display_name: str,
    settings: Settings,
) -> int:
    """An account nobody logs in to (its password is random and never kept)."""
    found = identity.find_account_by_username(session, username=username)
    if found is not None:
        return found.id
    return identity.create_account(
        session,
        username=username,
        password=secrets.token_urlsafe(32),
        role=role,
        settings=settings,
        department_code=department_code,
        region_code=region_code,
        display_name=display_name,
    ).id


def list_clients(session: Session) -> list[Client]:
    """Every registered client, oldest first."""
    rows = session.scalars(select(GovstackClient).order_by(GovstackClient.id)).all()
    return [_client(session, row) for row in rows]


def resolve_client(session: Session, *, header: str | None, required: bool) -> Client:
    """The registered client the header names.

    Where the header is `required` (statistics), anything but a well-formed registered
    client is Invalid (400). Elsewhere a call without the header is the default client's
    (Forbidden when there is none), and one naming an unregistered client is Forbidden.
    """
    if required and not well_formed(header):
        raise Invalid(
            f"The {HEADER} header must be INSTANCE/CLASS/MEMBER/SUBSYSTEM.",
            errors=[FieldError(HEADER, "missing or malformed")],
        )
    if not header:
        row = session.scalar(
            select(GovstackClient).where(GovstackClient.is_default, GovstackClient.active)
        )
        if row is None:
            raise Forbidden(f"Send the {HEADER} header of a registered client.")
        return _client(session, row)
    row = session.scalar(
        select(GovstackClient).where(GovstackClient.client == header, GovstackClient.active)
    )
    if row is None:
        if required:
            raise Invalid(
                f"{header!r} is not a client registered on this node.",
                errors=[FieldError(HEADER, "not a registered client")],
            )
        raise Forbidden(f"{header!r} is not a client registered on this node.")
    return _client(session, row)


def record_call(
    session: Session,
    *,
    client: Client,
    operation: str,
    data: dict[str, Any] | None = None,
    private: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
) -> None:
    """Record one answered call as an event (and so in the ledger), the client as actor."""
    events.record(
        session,
        action=f"govstack.{operation}",
        resource_type="govstack_client",
        resource_id=str(client.id),
        channel=events.Channel.API,
        actor_id=client.handler.account_id,
        actor_role=client.handler.role.value,
        data={"client": client.id, **(data or {})},
        private={"client": client.client, **(private or {})},
        personal=personal,
    )


# --- services and eForms ---------------------------------------------------------------------


def publish_service(
    session: Session,
    *,
    implementation_code: str,
    service_id: str | None = None,
    eform_id: str | None = None,
    registration_name: str | None = None,
) -> str:
    """Publish a catalog implementation to GovStack (idempotent); its service id."""
    impl = catalog.get_implementation(session, code=implementation_code)
    row = session.scalar(
        select(GovstackService).where(GovstackService.implementation_code == impl.code)
    )
    if row is not None:
        return row.service_id
    row = GovstackService(
        service_id=service_id or impl.code,
        implementation_code=impl.code,
        eform_id=eform_id or f"{impl.code}.form",
        registration_name=registration_name,
    )
    session.add(row)
    session.flush()
    events.record(
        session,
        action="govstack.service.published",
        resource_type="govstack_service",
        resource_id=row.service_id[:64],
        channel=events.Channel.CLI,
        data={"implementation": impl.code, "registration_name": registration_name},
    )
    return row.service_id


def _service_row(session: Session, service_id: str) -> GovstackService:
    row = (
        session.scalar(select(GovstackService).where(GovstackService.service_id == service_id))
        if len(service_id) <= _MAX_ID
        else None
    )
    if row is None:
        raise NotFound(f"No service {service_id[:_MAX_ID]!r}.")
    return row


def _published(
    session: Session, service_id: str
) -> tuple[GovstackService, catalog.ImplementationRead]:
    """A published service and its implementation, read once per transaction (lists name the
    same few services on every line)."""
    memo = transaction_memo(session).setdefault("govstack.published", {})
    if service_id not in memo:
        row = _service_row(session, service_id)
        memo[service_id] = (row, catalog.get_implementation(session, code=row.implementation_code))
    found: tuple[GovstackService, catalog.ImplementationRead] = memo[service_id]
    return found


def _service_json(row: GovstackService, impl: catalog.ImplementationRead) -> dict[str, Any]:
    body = [
        ("implementationCode", impl.code),
        ("itemCode", impl.item_code),
        ("itemName", impl.item_name),
        ("authority", impl.authority_name),
        ("authorityCode", impl.authority_code),
        ("region", impl.region_code),
        ("caseType", impl.case_type),
        ("promisedLimit", f"{impl.promised_limit.value} {impl.promised_limit.unit}"),
        ("statutoryLimit", f"{impl.statutory_limit.value} {impl.statutory_limit.unit}"),
        ("onlineDepth", str(impl.online_depth)),
    ]
    answer: dict[str, Any] = {
        "id": row.service_id,
        "name": impl.item_name_en or impl.item_name,
        "version": str(impl.version),
        "type": "Public",
        "isExecutable": impl.department_id is not None,
        "isClosed": False,
        "serviceBody": [{"code": code, "value": value} for code, value in body],
    }
    description = impl.acceptance_conditions or impl.handling_flow
    if description:
        answer["description"] = description
    return answer


def services(session: Session, *, name: str | None = None) -> list[dict[str, Any]]:
    """The published services (with `name`, those whose name is exactly it)."""
    rows = session.scalars(select(GovstackService).order_by(GovstackService.id)).all()
    found = [
        _service_json(row, catalog.get_implementation(session, code=row.implementation_code))
        for row in rows
    ]
    return [s for s in found if name is None or s["name"] == name]


def get_service(session: Session, *, service_id: str) -> dict[str, Any]:
    """One published service, or NotFound."""
    row = _service_row(session, service_id)
    return _service_json(row, catalog.get_implementation(session, code=row.implementation_code))


def _form_schema(impl: catalog.ImplementationRead, title: str) -> dict[str, Any]:
    """The implementation's form fields as a JSON Schema (draft 2020-12)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for spec in impl.form_fields:
        name = str(spec["name"])
        kind = spec.get("type", "text")
        prop: dict[str, Any] = {"title": spec.get("label", name)}
        if kind == "number":
            prop["type"] = "number"
        elif kind == "date":
            prop |= {"type": "string", "format": "date"}
        elif kind == "choice":
            prop |= {"type": "string", "enum": list(spec.get("choices") or [])}
        else:
            prop["type"] = "string"
        properties[name] = prop
        if spec.get("required"):
            required.append(name)
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "properties": properties,
    }
    if required:
        schema["required"] = required
    return schema


def _eform_item(row: GovstackService, impl: catalog.ImplementationRead) -> dict[str, Any]:
    return {
        "eFormId": row.eform_id,
        "name": impl.item_name_en or impl.item_name,
        "description": f"{impl.item_name} — {impl.authority_name}",
        "version": str(impl.version),
        "latest": True,
    }


def eforms(session: Session, *, service_id: str) -> list[dict[str, Any]]:
    """The eForms of a service (one: its implementation's form), or NotFound."""
    row = _service_row(session, service_id)
    return [_eform_item(row, catalog.get_implementation(session, code=row.implementation_code))]


def eform(session: Session, *, eform_id: str) -> dict[str, Any]:
    """One eForm with its JSON Schema, or NotFound."""
    row = (
        session.scalar(select(GovstackService).where(GovstackService.eform_id == eform_id))
        if len(eform_id) <= _MAX_ID
        else None
    )
    if row is None:
        raise NotFound(f"No eForm {eform_id[:_MAX_ID]!r}.")
    impl = catalog.get_implementation(session, code=row.implementation_code)
    item = _eform_item(row, impl)
    return {**item, "schema": _form_schema(impl, str(item["name"]))}


# --- documents -------------------------------------------------------------------------------


def upload_document(
    session: Session,
    *,
    client: Client,
    data: bytes,
    material: str | None,
    settings: Settings,
    base_url: str,
) -> dict[str, Any]:
    """Store a document as the client's upload (checked by content, size-limited)."""
    if not data:
        raise Invalid("The document is empty.", errors=[FieldError("file", "empty")])
    upload = cases.upload_file(session, actor=client.desk, data=data, settings=settings)
    row = GovstackDocument(
        document_id=secrets.token_hex(16),
        client_id=client.id,
        sha256=upload.sha256,
        media_type=upload.media_type,
        size=upload.size,
        material=(material or None) and str(material)[:200],
    )
    session.add(row)
    session.flush()
    record_call(
        session,
        client=client,
        operation="document.uploaded",
        data={"document": row.document_id, "media_type": upload.media_type, "size": upload.size},
        private={"sha256": upload.sha256, "material": row.material},
    )
    return {
        "code": 200,
        "type": upload.media_type,
        "message": f"Stored {upload.size} bytes ({upload.media_type}).",
        "url": f"{base_url}documents/{row.document_id}",
    }


def document(
    session: Session, *, client: Client, document_id: str, settings: Settings
) -> tuple[str, bytes]:
    """The media type and bytes of a document this client uploaded, or NotFound."""
    row = session.scalar(
        select(GovstackDocument).where(
            GovstackDocument.document_id == document_id[:40],
            GovstackDocument.client_id == client.id,
        )
    )
    if row is None:
        raise NotFound(f"No document {document_id[:40]!r}.")
    record_call(
        session, client=client, operation="document.read", data={"document": row.document_id}
    )
    return row.media_type, cases.BlobStore(settings.data_dir / "blobs").get(row.sha256)


def parse_document_payload(text: str) -> bytes:
    """The bytes of a base64 `file` field (standard or URL-safe alphabet), or Invalid."""
    cleaned = "".join(text.split())
    try:
        if "-" in cleaned or "_" in cleaned:
            return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("`file` must be base64.", errors=[FieldError("file", "not base64")]) from None


# --- applications ----------------------------------------------------------------------------


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


# --- tasks -----------------------------------------------------------------------------------


def _open_step(case: cases.CaseView) -> str | None:
    for step, states in _OPEN_IN.items():
        if case.state in (states if isinstance(states, tuple) else (states,)):
            return step
    return None


def _chosen_ids(session: Session, numbers: list[str]) -> dict[tuple[str, str], str]:
    """The task ids GovStack chose (the samples') for steps of these cases, 500 to a query."""
    chosen: dict[tuple[str, str], str] = {}
    for start in range(0, len(numbers), 500):
        stmt = select(GovstackTaskId).where(
            GovstackTaskId.case_number.in_(numbers[start : start + 500])
        )
        for row in session.scalars(stmt):
            chosen[(row.case_number, row.step)] = row.task_id
    return chosen


def _task_id(
    session: Session, number: str, step: str, chosen: dict[tuple[str, str], str] | None = None
) -> str:
    """The task's id: the one GovStack chose for this step, else `{case number}.{step}`."""
    if chosen is None:
        chosen = _chosen_ids(session, [number])
    return chosen.get((number, step)) or f"{number}.{step}"


def _with_cases(
    session: Session, rows: Sequence[GovstackApplication]
) -> tuple[list[tuple[GovstackApplication, cases.CaseView]], dict[tuple[str, str], str]]:
    """The files with their cases, and the chosen task ids of those cases: a few queries."""
    numbers = [row.case_number for row in rows]
    found = cases.get_cases(session, numbers=numbers)
    return [(row, found[row.case_number]) for row in rows], _chosen_ids(session, numbers)


def _find_task(session: Session, task_id: str) -> tuple[GovstackApplication, str]:
    """The application and step a task id names, or NotFound."""
    if len(task_id) <= _MAX_ID:
        chosen = session.scalar(select(GovstackTaskId).where(GovstackTaskId.task_id == task_id))
        if chosen is not None:
            number, step = chosen.case_number, chosen.step
        else:
            number, _, step = task_id.rpartition(".")
        if step in STEPS:
            row = session.scalar(
                select(GovstackApplication).where(GovstackApplication.case_number == number)
            )
            if row is not None:
                return row, step
    raise NotFound(f"No task {task_id[:_MAX_ID]!r}.")


def _step_status(case: cases.CaseView, step: str) -> str:
    """open, done, waiting (paused or not reached) or closed (the case ended before it)."""
    if _open_step(case) == step:
        return "open"
    done = _DONE_STEPS.get(case.state)
    if done is None:
        return "closed"
    return "done" if STEPS.index(step) < done else "waiting"


def _assignee(session: Session, row: GovstackApplication) -> str:
    """Who a file's tasks are for: the competent department (its credit code)."""
    return f"department:{_published(session, row.service_id)[1].authority_code}"


def _task_json(
    session: Session,
    row: GovstackApplication,
    step: str,
    case: cases.CaseView,
    *,
    full: bool,
    chosen: dict[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    service, impl = _published(session, row.service_id)
    answer: dict[str, Any] = {
        "taskId": _task_id(session, case.number, step, chosen),
        "assigneeId": _assignee(session, row),
        "roleId": "official",
        "created": _iso(case.received_at),
        "description": f"{_STEP_NAMES[step]}: {case.item_name} ({case.number})",
        "fileId": row.file_id,
        "serviceId": row.service_id,
        "serviceName": impl.item_name_en or impl.item_name,
        "eFormId": service.eform_id,
        "status": _status(case),
    }
    if full:
        answer["taskName"] = _STEP_NAMES[step]
        answer["formVariables"] = {
            "step": {"value": step, "state": _step_status(case, step)},
            "case": {"number": case.number, "state": case.state},
        }
        answer["data"] = _objects((row.submitted.get("formData") or {}).get("data"))
    else:
        answer["name"] = _STEP_NAMES[step]
        answer["mainTaskId"] = answer["taskId"]
    return answer


def tasks(
    session: Session,
    *,
    client: Client,
    file_id: str | None = None,
    main_task_id: str | None = None,
    assignee_id: str | None = None,
    first: int | None = None,
    most: int | None = None,
    descending: bool = False,
) -> list[dict[str, Any]]:
    """The open tasks on applications filed through GovStack, filtered and paged."""
    stmt = select(GovstackApplication)
    if file_id is not None:
        stmt = stmt.where(GovstackApplication.file_id == file_id[:_MAX_ID])
    stmt = stmt.order_by(GovstackApplication.registered_at, GovstackApplication.id)
    found = []
    pairs, chosen = _with_cases(session, session.scalars(stmt).all())
    for row, case in pairs:
        step = _open_step(case)
        if step is None:
            continue
        if (
            main_task_id is not None
            and _task_id(session, case.number, step, chosen) != main_task_id
        ):
            continue
        if assignee_id is not None and _assignee(session, row) != assignee_id:
            continue
        found.append((row, case, step))
    if descending:
        found.reverse()
    # Only the page asked for is written out.
    answer = [
        _task_json(session, row, step, case, full=False, chosen=chosen)
        for row, case, step in _page(found, first, most)
    ]
    record_call(session, client=client, operation="tasks.listed", data={"count": len(answer)})
    return answer


def task(session: Session, *, client: Client, task_id: str) -> dict[str, Any]:
    """One task, open or not, or NotFound."""
    row, step = _find_task(session, task_id)
    case = cases.get_case(session, number=row.case_number)
    record_call(
        session, client=client, operation="task.read", data={"case": case.number, "step": step}
    )
    return {**_task_json(session, row, step, case, full=True), "taskId": task_id}


def exists_task(session: Session, *, task_id: str) -> bool:
    """True when the id names a task."""
    try:
        _find_task(session, task_id)
    except NotFound:
        return False
    return True


def _decision(data: dict[str, Any]) -> tuple[str, str]:
    """approve or reject, and the decision's text, from the task's data."""
    decision = data.get("decision")
    code, text = "APPROVED", None
    if isinstance(decision, dict):
        code = str(decision.get("code") or decision.get("value") or code).upper()
        text = decision.get("text") or decision.get("reason")
    elif isinstance(decision, str):
        code = decision.upper()
    action = "reject" if code in ("REJECTED", "REJECT") else "approve"
    default = "Approved through GovStack." if action == "approve" else "Refused through GovStack."
    return action, str(text or default)[:2000]


def complete_task(
    session: Session, *, client: Client, task_id: str, data: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    """Take the task's step on its case as the client's official (done already: as it is)."""
    row, step = _find_task(session, task_id)
    case = cases.get_case(session, number=row.case_number)
    status = _step_status(case, step)
    if status == "open":
        version = cases.case_version(session, number=case.number)
        if step == "decide":
            action, text = _decision(data)
            body = cases.ActionIn(
                version=version, decision_text=text, reason=text if action == "reject" else None
            )
        else:
            action, body = step, cases.ActionIn(version=version)
        case = cases.act_on_case(
            session,
            actor=client.handler,
            number=case.number,
            action=action,
            body=body,
            settings=settings,
        )
    elif status != "done":
        raise Invalid(
            f"The task cannot be completed now: the case is {case.state}.",
            errors=[FieldError("taskId", f"case is {case.state}")],
        )
    record_call(
        session,
        client=client,
        operation="task.completed",
        data={"case": case.number, "step": step, "already": status == "done"},
    )
    return {
        "taskId": task_id,
        "fileId": row.file_id,
        "serviceId": row.service_id,
        "status": _status(case),
        "variables": {"outcome": {"data": {"case": {"number": case.number, "state": case.state}}}},
    }


# --- statistics ------------------------------------------------------------------------------


def statistics(
    session: Session,
    *,
    client: Client,
    start: date | None,
    end: date | None,
    registration_name: str | None,
    operator: str | None,
    role: str | None,
    timeframe: str | None,
) -> list[dict[str, Any]]:
    """Processed, approved, sent back and rejected application files, by registration."""
    stmt = select(GovstackApplication)
    if registration_name:
        service = session.scalar(
            select(GovstackService).where(
                GovstackService.registration_name == registration_name[:64]
            )
        )
        if service is None:
            raise NotFound(f"No registration named {registration_name[:64]!r}.")
        stmt = stmt.where(GovstackApplication.service_id == service.service_id)
    counts = {"processed": 0, "approved": 0, "sentBack": 0, "rejected": 0}
    rows = [
        row
        for row in session.scalars(stmt).all()
        if not (start and cases.local_date(row.registered_at) < start)
        and not (end and cases.local_date(row.registered_at) > end)
    ]
    for _, case in _with_cases(session, rows)[0]:
        code = _status(case)["code"]
        if code == "SENDBACK":
            counts["sentBack"] += 1
        if case.decision is not None or case.state in cases.FINAL_STATES:
            counts["processed"] += 1
            counts["approved"] += code == "APPROVED"
            counts["rejected"] += code == "REJECTED"
    record_call(session, client=client, operation="statistics.read", data=dict(counts))
    references = {
        "startDate": start.isoformat() if start else "",
        "endDate": end.isoformat() if end else "",
        "registrationName": registration_name or "",
        "operator": operator or "",
        "role": role or "",
        "timeframeDay": timeframe == "day",
        "timeframeWeek": timeframe == "week",
        "timeframeMonth": timeframe == "month",
        "timeframeYear": timeframe == "year",
    }
    return [{**counts, "references": references}]
