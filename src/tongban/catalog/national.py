"""The national basic catalog (基本目录) as a snapshot: what the national node publishes and what
provincial nodes and stations apply to their own catalog.

A snapshot is the basic items only — code, names, type, department, legal basis, service
objects, keywords, description, and whether the item is withdrawn — because these are the
elements identical everywhere; implementations (实施清单, with their materials and time limits)
are each region's own and are never touched by applying a snapshot. Applying upserts items by
code with the import's digests (an unchanged item is not written), marks an item the snapshot
withdraws (never deletes it: cases and implementations refer to it) and restores one it lists
again.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.catalog.models import BasicItem, CatalogRevision
from tongban.catalog.schemas import ItemIn
from tongban.catalog.search import REVISION
from tongban.catalog.upsert import _apply_item, _digest, _item_fields, _upsert
from tongban.events import service as events
from tongban.platform.db import utcnow
from tongban.platform.errors import FieldError, Invalid, NotFound

# The item fields a snapshot carries (the exchange format's, without implementations).
FIELDS = (
    "code",
    "name",
    "name_en",
    "type",
    "department",
    "legal_basis",
    "service_objects",
    "keywords",
    "cross_province",
    "description",
)


def _item(row: BasicItem) -> dict[str, Any]:
    data = {name: getattr(row, name) for name in FIELDS}
    data["service_objects"] = list(row.service_objects or [])
    data["keywords"] = list(row.keywords or [])
    if data["name_en"] is None:
        del data["name_en"]
    data["withdrawn"] = row.withdrawn_at is not None
    return data


def national_items(session: Session) -> list[dict[str, Any]]:
    """Every basic item of this catalog in code order, as a snapshot lists it."""
    return [_item(row) for row in session.scalars(select(BasicItem).order_by(BasicItem.code))]


def items_digest(items: list[dict[str, Any]]) -> str:
    """The SHA-256 a snapshot's items are identified by (canonical JSON of the list)."""
    return _digest(items)


def catalog_fingerprint(session: Session) -> str:
    """A cheap fingerprint of the basic items (codes, content digests, withdrawal): it changes
    exactly when a snapshot of this catalog would."""
    h = hashlib.sha256()
    rows = session.execute(
        select(BasicItem.code, BasicItem.digest, BasicItem.withdrawn_at).order_by(BasicItem.code)
    )
    for code, digest, withdrawn_at in rows:
        h.update(f"{code}|{digest}|{withdrawn_at is not None}\n".encode())
    return h.hexdigest()


def _validated(items: list[Any]) -> list[tuple[ItemIn, bool]]:
    out: list[tuple[ItemIn, bool]] = []
    errors: list[FieldError] = []
    for position, raw in enumerate(items):
        if not isinstance(raw, dict):
            errors.append(FieldError(f"items[{position}]", "not an item"))
            continue
        fields = {k: v for k, v in raw.items() if k != "withdrawn"}
        try:
            out.append((ItemIn.model_validate(fields), bool(raw.get("withdrawn", False))))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            errors.append(FieldError(f"items[{position}].{where}", first["msg"]))
    if errors:
        raise Invalid("The national catalog has invalid items.", errors=errors[:20])
    return out


def apply_national_items(session: Session, *, items: list[Any], source: str) -> dict[str, int]:
    """Apply a national snapshot's items to this catalog (validated whole first: nothing is
    written if one item is wrong); local implementations are untouched; the counts."""
    validated = _validated(items)
    counts = {
        f"items_{what}": 0 for what in ("created", "updated", "unchanged", "withdrawn", "restored")
    }
    codes = [item.code for item, _ in validated]
    existing = {
        row.code: row for row in session.scalars(select(BasicItem).where(BasicItem.code.in_(codes)))
    }
    now = utcnow()
    for item, withdrawn in validated:
        row = _upsert(
            existing.get(item.code),
            _digest(_item_fields(item)),
            lambda item=item: BasicItem(code=item.code),  # type: ignore[misc]
            lambda row, item=item: _apply_item(row, item),  # type: ignore[misc]
            counts,
            "items",
            session,
        )
        if withdrawn and row.withdrawn_at is None:
            row.withdrawn_at = now
            counts["items_withdrawn"] += 1
        elif not withdrawn and row.withdrawn_at is not None:
            row.withdrawn_at = None
            counts["items_restored"] += 1
    session.flush()
    changed = any(v for k, v in counts.items() if k != "items_unchanged")
    token = str(uuid.uuid4())
    if changed:
        # A new token tells every process's search index that the catalog changed.
        session.add(CatalogRevision(token=token, source=source[:200], summary=counts))
        session.flush()
        REVISION.changed(session)
    events.record(
        session,
        action="catalog.imported",
        resource_type="catalog",
        resource_id=token if changed else "unchanged",
        channel="system",
        data=dict(counts),
        private={"source": source[:200]},
    )
    return counts


def withdraw_item(session: Session, *, code: str, withdrawn: bool = True) -> bool:
    """Mark a basic item withdrawn from the catalog (or listed again); whether it changed.
    The item stays: cases and implementations refer to it."""
    row = session.scalar(select(BasicItem).where(BasicItem.code == code))
    if row is None:
        raise NotFound(f"No basic item {code}.")
    if (row.withdrawn_at is not None) == withdrawn:
        return False
    row.withdrawn_at = utcnow() if withdrawn else None
    row.updated_at = utcnow()
    token = str(uuid.uuid4())
    session.add(
        CatalogRevision(
            token=token,
            source=f"{'withdraw' if withdrawn else 'restore'} {code}"[:200],
            summary={"items_withdrawn" if withdrawn else "items_restored": 1},
        )
    )
    session.flush()
    REVISION.changed(session)
    events.record(
        session,
        action="catalog.item_withdrawn" if withdrawn else "catalog.item_restored",
        resource_type="catalog_item",
        resource_id=code,
        channel="system",
        data={"code": code},
    )
    return True


def is_withdrawn(session: Session, *, code: str) -> bool:
    """Whether the national catalog withdrew item `code` (an unknown code is not withdrawn)."""
    return (
        session.scalar(select(BasicItem.withdrawn_at.is_not(None)).where(BasicItem.code == code))
        is True
    )
