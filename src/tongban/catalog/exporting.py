"""Export of the catalog exchange format: the document, and its YAML, JSON and Excel files.

Items, their implementations and bundles come out ordered by code; importing an export
gives back the same catalog.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tongban.catalog import workbook
from tongban.catalog.models import BasicItem, Bundle, BundleComponent, Implementation
from tongban.events import service as events
from tongban.platform.errors import FieldError, Invalid


def _limit(value: int | None, unit: str | None, note: str) -> dict[str, Any] | None:
    if value is None or unit is None:
        return None
    return {"value": value, "unit": unit, "note": note or ""}


def _required_out(value: str) -> bool | str:
    return {"yes": True, "no": False}.get(value, value)


def implementation_document(impl: Implementation) -> dict[str, Any]:
    """One implementation in the exchange format."""
    result = None
    if impl.result_type is not None or impl.result_name is not None:
        result = {"type": impl.result_type, "name": impl.result_name}
    return {
        "code": impl.code,
        "region": impl.region_code,
        "authority": {"name": impl.authority_name, "code": impl.authority_code},
        "body_nature": impl.body_nature,
        "entrusted_department": impl.entrusted_department,
        "power_source": impl.power_source,
        "exercise_level": impl.exercise_level,
        "business_type": impl.business_type,
        "case_type": impl.case_type,
        "statutory_limit": _limit(
            impl.statutory_limit_value, impl.statutory_limit_unit, impl.statutory_limit_note
        ),
        "promised_limit": _limit(
            impl.promised_limit_value, impl.promised_limit_unit, impl.promised_limit_note
        ),
        "fees": [
            {"name": f.name, "amount": float(f.amount), "basis": f.basis, "reduction": f.reduction}
            for f in impl.fees
        ],
        "visits": impl.visits,
        "online_depth": impl.online_depth,
        "tongban_range": impl.tongban_range,
        "handling_forms": list(impl.handling_forms or []),
        "acceptance_conditions": impl.acceptance_conditions,
        "handling_flow": impl.handling_flow,
        "address": impl.address,
        "hours": impl.hours,
        "phone": impl.phone,
        "complaint_phone": impl.complaint_phone,
        "result": result,
        "co_handlers": [
            {"name": c.authority_name, "code": c.authority_code, "region": c.region_code}
            for c in impl.co_handlers
        ],
        "form_fields": [dict(f) for f in impl.form_fields or []],
        "materials": [
            {
                "name": m.name,
                "required": _required_out(m.required),
                "condition": m.condition,
                "format": list(m.formats or []),
                "source": m.source,
                "pages": m.pages,
                "basis": m.basis,
            }
            for m in impl.materials
        ],
    }


def export_document(session: Session) -> dict[str, Any]:
    """The whole catalog in the exchange format (items and bundles ordered by code)."""
    items = session.scalars(
        select(BasicItem)
        .order_by(BasicItem.code)
        .options(
            selectinload(BasicItem.implementations).selectinload(Implementation.materials),
            selectinload(BasicItem.implementations).selectinload(Implementation.fees),
            selectinload(BasicItem.implementations).selectinload(Implementation.co_handlers),
        )
    ).all()
    bundles = session.scalars(
        select(Bundle)
        .order_by(Bundle.code)
        .options(selectinload(Bundle.components).selectinload(BundleComponent.implementation))
    ).all()
    return {
        "version": 1,
        "items": [
            {
                "code": item.code,
                "name": item.name,
                # Only when there is one: a catalog without English names exports as before.
                **({"name_en": item.name_en} if item.name_en else {}),
                "type": item.type,
                "department": item.department,
                "legal_basis": item.legal_basis,
                "service_objects": list(item.service_objects or []),
                "keywords": list(item.keywords or []),
                "cross_province": item.cross_province,
                "description": item.description,
                "implementations": [
                    implementation_document(impl)
                    for impl in sorted(item.implementations, key=lambda i: i.code)
                ],
            }
            for item in items
        ],
        "bundles": [
            {
                "code": b.code,
                "name": b.name,
                **({"name_en": b.name_en} if b.name_en else {}),
                "region": b.region_code,
                "promised_limit": _limit(
                    b.promised_limit_value, b.promised_limit_unit, b.promised_limit_note
                ),
                "description": b.description,
                "components": [c.implementation.code for c in b.components],
            }
            for b in bundles
        ],
    }


def dump_yaml(document: dict[str, Any]) -> bytes:
    """The document as UTF-8 YAML (Chinese kept readable)."""
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120)
    return text.encode("utf-8")


def dump_json(document: dict[str, Any]) -> bytes:
    """The document as UTF-8 JSON (Chinese kept readable)."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def export_workbook(session: Session) -> bytes:
    """The whole catalog as an Excel workbook (the 5-sheet layout of docs/catalog-format.md)."""
    return workbook.write(export_document(session))


def export_file(session: Session, *, path: Path | str) -> None:
    """Write the catalog to a .yaml/.yml/.json/.xlsx file, by its extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        content = export_workbook(session)
    elif suffix in (".yaml", ".yml"):
        content = dump_yaml(export_document(session))
    elif suffix == ".json":
        content = dump_json(export_document(session))
    else:
        raise Invalid(
            f"Unsupported file type {suffix or '(none)'}.",
            errors=[FieldError("file", "use .yaml, .yml, .json or .xlsx")],
        )
    path.write_bytes(content)
    record_export(session, fmt=suffix.lstrip("."), channel="cli")


def record_export(
    session: Session,
    *,
    fmt: str,
    channel: str,
    actor_id: int | None = None,
    actor_role: str | None = None,
    token_id: int | None = None,
) -> None:
    """One `catalog.exported` event: the format, how many items and bundles left, and the
    API token that took them (so that the guard can suspend it)."""
    items = session.scalar(select(func.count()).select_from(BasicItem)) or 0
    bundles = session.scalar(select(func.count()).select_from(Bundle)) or 0
    events.record(
        session,
        action="catalog.exported",
        resource_type="catalog",
        resource_id="catalog",
        channel=channel,
        actor_id=actor_id,
        actor_role=actor_role,
        data={
            "v": 1,
            "rows": int(items) + int(bundles),
            "format": fmt,
            **({"token_id": token_id} if token_id is not None else {}),
        },
    )
