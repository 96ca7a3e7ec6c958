"""Catalog rows in the shapes other domains and the API get: Read schemas, never rows."""

from __future__ import annotations

from tongban.catalog.models import Bundle, Implementation
from tongban.catalog.queries import ItemDetail
from tongban.catalog.schemas import (
    BundleComponentRead,
    BundleRead,
    CoHandlerRead,
    FeeRead,
    ImplementationRead,
    ItemRead,
    LimitRead,
    MaterialRead,
)


def implementation_read(impl: Implementation) -> ImplementationRead:
    """The API form of an implementation (its item, materials, fees and co-handlers loaded)."""
    return ImplementationRead(
        code=impl.code,
        item_code=impl.item.code,
        item_name=impl.item.name,
        item_name_en=impl.item.name_en,
        region_code=impl.region_code,
        authority_name=impl.authority_name,
        authority_code=impl.authority_code,
        department_id=impl.department_id,
        body_nature=impl.body_nature,
        entrusted_department=impl.entrusted_department,
        power_source=impl.power_source,
        exercise_level=impl.exercise_level,
        business_type=impl.business_type,
        case_type=impl.case_type,
        statutory_limit=LimitRead(
            value=impl.statutory_limit_value,
            unit=impl.statutory_limit_unit,
            note=impl.statutory_limit_note or "",
        ),
        promised_limit=LimitRead(
            value=impl.promised_limit_value,
            unit=impl.promised_limit_unit,
            note=impl.promised_limit_note or "",
        ),
        visits=impl.visits,
        online_depth=impl.online_depth,
        tongban_range=impl.tongban_range,
        handling_forms=list(impl.handling_forms or []),
        acceptance_conditions=impl.acceptance_conditions,
        handling_flow=impl.handling_flow,
        address=impl.address,
        hours=impl.hours,
        phone=impl.phone,
        complaint_phone=impl.complaint_phone,
        result_type=impl.result_type,
        result_name=impl.result_name,
        form_fields=list(impl.form_fields or []),
        materials=[MaterialRead.model_validate(m) for m in impl.materials],
        fees=[FeeRead.model_validate(f) for f in impl.fees],
        co_handlers=[CoHandlerRead.model_validate(c) for c in impl.co_handlers],
        version=impl.version,
        updated_at=impl.updated_at,
    )


def bundle_read(bundle: Bundle) -> BundleRead:
    """The API form of a bundle with its components in order."""
    limit = None
    if bundle.promised_limit_value is not None:
        limit = LimitRead(
            value=bundle.promised_limit_value,
            unit=bundle.promised_limit_unit,
            note=bundle.promised_limit_note or "",
        )
    return BundleRead(
        code=bundle.code,
        name=bundle.name,
        name_en=bundle.name_en,
        region_code=bundle.region_code,
        promised_limit=limit,
        description=bundle.description,
        components=[
            BundleComponentRead(
                position=c.position,
                implementation_code=c.implementation.code,
                item_code=c.implementation.item.code,
                item_name=c.implementation.item.name,
                item_name_en=c.implementation.item.name_en,
                authority_name=c.implementation.authority_name,
                region_code=c.implementation.region_code,
            )
            for c in bundle.components
        ],
    )


def item_read(detail: ItemDetail) -> ItemRead:
    """The API form of a basic item with its implementations."""
    item = detail.item
    return ItemRead(
        code=item.code,
        name=item.name,
        name_en=item.name_en,
        type=item.type,
        department=item.department,
        legal_basis=item.legal_basis,
        service_objects=list(item.service_objects or []),
        keywords=list(item.keywords or []),
        cross_province=item.cross_province,
        description=item.description,
        version=item.version,
        updated_at=item.updated_at,
        withdrawn_at=item.withdrawn_at,
        implementations=[implementation_read(impl) for impl in detail.implementations],
    )
