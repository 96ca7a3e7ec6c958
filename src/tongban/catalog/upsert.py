"""Writing a validated catalog document: upsert by code, and one `catalog.imported` event.

Rows whose content did not change (same digest) are left untouched, so re-importing a file
changes nothing but the one event.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only, selectinload

from tongban.catalog.models import (
    BasicItem,
    Bundle,
    BundleComponent,
    CatalogRevision,
    CoHandler,
    Fee,
    Implementation,
    Material,
)
from tongban.catalog.schemas import BundleIn, DocumentIn, ImplementationIn, ItemIn
from tongban.catalog.search import REVISION, build_terms
from tongban.events import service as events
from tongban.identity import service as identity
from tongban.platform.db import utcnow

T = TypeVar("T", BasicItem, Implementation, Bundle)


def _digest(data: Any) -> str:
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _by_code(session: Session, model: type[T], codes: Iterable[str], *options: Any) -> dict[str, T]:
    ordered = sorted(set(codes))
    found: dict[str, T] = {}
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        stmt = select(model).where(model.code.in_(chunk)).options(*options)
        for row in session.scalars(stmt):
            found[row.code] = row
    return found


def _item_fields(item: ItemIn) -> dict[str, Any]:
    return _without_empty_name_en(item.model_dump(mode="json", exclude={"implementations"}))


def _without_empty_name_en(data: dict[str, Any]) -> dict[str, Any]:
    # A document without English names digests as it did before name_en existed: upgrading
    # does not make every unchanged row look changed on the next import.
    if data.get("name_en") is None:
        data.pop("name_en", None)
    return data


def _apply_item(row: BasicItem, item: ItemIn) -> None:
    row.name = item.name
    row.name_en = item.name_en
    row.type = item.type.value
    row.department = item.department
    row.legal_basis = item.legal_basis
    row.service_objects = list(item.service_objects)
    row.keywords = list(item.keywords)
    row.cross_province = item.cross_province
    row.description = item.description
    row.search_terms = build_terms(
        name=item.name, keywords=item.keywords, department=item.department
    )


def _apply_implementation(
    row: Implementation, impl: ImplementationIn, *, item_id: int, department_id: int | None
) -> None:
    row.item_id = item_id
    row.region_code = impl.region
    row.authority_name = impl.authority.name
    row.authority_code = impl.authority.code
    row.department_id = department_id
    row.body_nature = impl.body_nature
    row.entrusted_department = impl.entrusted_department
    row.power_source = impl.power_source
    row.exercise_level = impl.exercise_level
    row.business_type = impl.business_type
    row.case_type = impl.case_type
    row.statutory_limit_value = impl.statutory_limit.value
    row.statutory_limit_unit = impl.statutory_limit.unit.value
    row.statutory_limit_note = impl.statutory_limit.note
    row.promised_limit_value = impl.promised_limit.value
    row.promised_limit_unit = impl.promised_limit.unit.value
    row.promised_limit_note = impl.promised_limit.note
    row.visits = impl.visits
    row.online_depth = impl.online_depth
    row.tongban_range = impl.tongban_range.value
    row.handling_forms = list(impl.handling_forms)
    row.acceptance_conditions = impl.acceptance_conditions
    row.handling_flow = impl.handling_flow
    row.address = impl.address
    row.hours = impl.hours
    row.phone = impl.phone
    row.complaint_phone = impl.complaint_phone
    row.result_type = impl.result.type if impl.result else None
    row.result_name = impl.result.name if impl.result else None
    row.form_fields = [f.model_dump(mode="json", exclude_none=True) for f in impl.form_fields]
    row.materials = [
        Material(
            position=p,
            name=m.name,
            required=m.required,
            condition=m.condition,
            formats=list(m.format),
            source=m.source,
            pages=m.pages,
            basis=m.basis,
        )
        for p, m in enumerate(impl.materials, start=1)
    ]
    row.fees = [
        Fee(position=p, name=f.name, amount=f.amount, basis=f.basis, reduction=f.reduction)
        for p, f in enumerate(impl.fees, start=1)
    ]
    row.co_handlers = [
        CoHandler(position=p, authority_name=c.name, authority_code=c.code, region_code=c.region)
        for p, c in enumerate(impl.co_handlers, start=1)
    ]


def _upsert(
    existing: T | None,
    digest: str,
    make: Callable[[], T],
    apply: Callable[[T], None],
    counts: dict[str, int],
    kind: str,
    session: Session,
) -> T:
    now = utcnow()
    if existing is None:
        row = make()
        apply(row)
        row.digest = digest
        row.version = 1
        row.created_at = now
        row.updated_at = now
        session.add(row)
        counts[f"{kind}_created"] += 1
        return row
    if existing.digest != digest:
        apply(existing)
        existing.digest = digest
        existing.version = (existing.version or 0) + 1
        existing.updated_at = now
        counts[f"{kind}_updated"] += 1
    else:
        counts[f"{kind}_unchanged"] += 1
    return existing


def apply_document(
    session: Session,
    doc: DocumentIn,
    *,
    source: str,
    actor_id: int | None = None,
    actor_role: str | None = None,
    channel: str = "system",
) -> dict[str, Any]:
    """Write a validated document (upsert by code) and record one event; return the counts."""
    counts = {
        f"{kind}_{what}": 0
        for kind in ("items", "implementations", "bundles")
        for what in ("created", "updated", "unchanged")
    }
    items = _by_code(session, BasicItem, (i.code for i in doc.items))
    item_rows: dict[str, BasicItem] = {}
    for item in doc.items:
        item_rows[item.code] = _upsert(
            items.get(item.code),
            _digest(_item_fields(item)),
            lambda item=item: BasicItem(code=item.code),  # type: ignore[misc]
            lambda row, item=item: _apply_item(row, item),  # type: ignore[misc]
            counts,
            "items",
            session,
        )
    session.flush()

    # Only what decides "changed?" is loaded; the few rows that change load the rest on access.
    impls = _by_code(
        session,
        Implementation,
        (impl.code for item in doc.items for impl in item.implementations),
        load_only(Implementation.id, Implementation.code, Implementation.digest),
    )
    pending: list[tuple[ImplementationIn, str, int, Implementation | None]] = []
    departments: dict[str, int | None] = {}
    for item in doc.items:
        for impl in item.implementations:
            digest = _digest({"item": item.code, **impl.model_dump(mode="json")})
            existing = impls.get(impl.code)
            pending.append((impl, digest, item_rows[item.code].id, existing))
            if (existing is None or existing.digest != digest) and (
                impl.authority.code not in departments
            ):
                # Ensured before any implementation row is pending, so that the lookups
                # inside ensure_department do not autoflush rows one by one.
                department = identity.ensure_department(
                    session,
                    code=impl.authority.code,
                    name=impl.authority.name,
                    region_code=impl.region,
                )
                departments[impl.authority.code] = department.id

    for impl, digest, item_id, existing in pending:
        _upsert(
            existing,
            digest,
            lambda impl=impl: Implementation(code=impl.code),  # type: ignore[misc]
            lambda row, impl=impl, item_id=item_id: _apply_implementation(  # type: ignore[misc]
                row, impl, item_id=item_id, department_id=departments[impl.authority.code]
            ),
            counts,
            "implementations",
            session,
        )
    session.flush()

    _apply_bundles(session, doc.bundles, counts)
    changed = any(v for k, v in counts.items() if not k.endswith("_unchanged"))
    counts_out: dict[str, Any] = dict(counts)
    token = str(uuid.uuid4())
    if changed:
        # A new token tells every process's search index that the catalog changed.
        session.add(
            CatalogRevision(token=token, source=source[:200], summary=counts, created_at=utcnow())
        )
        session.flush()
        REVISION.changed(session)
    events.record(
        session,
        action="catalog.imported",
        resource_type="catalog",
        resource_id=token if changed else "unchanged",
        channel=channel,
        actor_id=actor_id,
        actor_role=actor_role,
        data=dict(counts),
        # The source is a file name an operator gave: kept out of the public leaf.
        private={"source": source[:200]},
    )
    session.flush()
    counts_out["source"] = source
    counts_out["changed"] = changed
    return counts_out


def _apply_bundles(session: Session, bundles: list[BundleIn], counts: dict[str, int]) -> None:
    if not bundles:
        return
    impl_ids = {
        code: impl_id
        for code, impl_id in session.execute(
            select(Implementation.code, Implementation.id).where(
                Implementation.code.in_({c for b in bundles for c in b.components})
            )
        )
    }
    existing = _by_code(session, Bundle, (b.code for b in bundles), selectinload(Bundle.components))

    def apply(row: Bundle, bundle: BundleIn) -> None:
        row.name = bundle.name
        row.name_en = bundle.name_en
        row.region_code = bundle.region
        limit = bundle.promised_limit
        row.promised_limit_value = limit.value if limit else None
        row.promised_limit_unit = limit.unit.value if limit else None
        row.promised_limit_note = limit.note if limit else ""
        row.description = bundle.description
        row.components = [
            BundleComponent(position=p, implementation_id=impl_ids[code])
            for p, code in enumerate(bundle.components, start=1)
        ]

    for bundle in bundles:
        _upsert(
            existing.get(bundle.code),
            _digest(_without_empty_name_en(bundle.model_dump(mode="json"))),
            lambda bundle=bundle: Bundle(code=bundle.code),  # type: ignore[misc]
            lambda row, bundle=bundle: apply(row, bundle),  # type: ignore[misc]
            counts,
            "bundles",
            session,
        )
    session.flush()
