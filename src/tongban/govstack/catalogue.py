"""GovStack services and eForms: catalog implementations under a GovStack id, their form
fields as JSON Schema (issue #21)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.catalog import service as catalog
from tongban.events import service as events
from tongban.govstack.clients import _MAX_ID
from tongban.govstack.models import (
    GovstackService,
)
from tongban.platform.db.uow import transaction_memo
from tongban.platform.errors import NotFound


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
