"""The national basic catalog's snapshot (catalog/national.py): the items as the national node
publishes them, applied to another catalog — upserted by code, withdrawn items marked and kept,
implementations untouched, a wrong item refusing the whole snapshot."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.catalog import service as catalog
from tongban.catalog.models import BasicItem, CatalogRevision, Implementation
from tongban.platform.errors import Invalid, NotFound


def _codes(db: Session, q: str) -> set[str]:
    return {h.code for h in catalog.search_items(db, q=q)[0]}


def test_a_snapshot_applied_to_its_own_catalog_changes_nothing(catalog_db: Session) -> None:
    items = catalog.national_items(catalog_db)
    assert items and all(set(i) >= {"code", "name", "legal_basis", "withdrawn"} for i in items)
    assert "implementations" not in items[0]
    revisions = catalog_db.scalar(select(func.count()).select_from(CatalogRevision))
    counts = catalog.apply_national_items(catalog_db, items=items, source="self")
    assert counts["items_unchanged"] == len(items)
    assert counts["items_updated"] == counts["items_created"] == counts["items_withdrawn"] == 0
    assert catalog_db.scalar(select(func.count()).select_from(CatalogRevision)) == revisions
    assert catalog.items_digest(items) == catalog.items_digest(catalog.national_items(catalog_db))


def test_changes_withdrawals_and_restorations_apply_and_implementations_stay(
    catalog_db: Session,
) -> None:
    items = catalog.national_items(catalog_db)
    first, second = items[0], items[1]
    impls_before = {
        code: digest
        for code, digest in catalog_db.execute(select(Implementation.code, Implementation.digest))
    }
    fingerprint = catalog.catalog_fingerprint(catalog_db)
    first["name"] = first["name"] + "（全国）"
    second["withdrawn"] = True
    new = {**items[2], "code": "NATIONAL-ONLY-1", "withdrawn": False}
    counts = catalog.apply_national_items(catalog_db, items=[*items, new], source="national v2")
    assert (counts["items_updated"], counts["items_withdrawn"], counts["items_created"]) == (
        1,
        1,
        1,
    )
    assert catalog.catalog_fingerprint(catalog_db) != fingerprint
    withdrawn = catalog_db.scalar(select(BasicItem).where(BasicItem.code == second["code"]))
    assert withdrawn is not None and withdrawn.withdrawn_at is not None  # kept, marked
    assert second["code"] not in _codes(catalog_db, second["code"])
    assert first["code"] in _codes(catalog_db, first["code"])
    assert {
        code: digest
        for code, digest in catalog_db.execute(select(Implementation.code, Implementation.digest))
    } == impls_before
    second["withdrawn"] = False
    assert catalog.apply_national_items(catalog_db, items=items, source="v3")["items_restored"] == 1
    assert second["code"] in _codes(catalog_db, second["code"])


def test_a_wrong_item_refuses_the_whole_snapshot(catalog_db: Session) -> None:
    items = catalog.national_items(catalog_db)
    fingerprint = catalog.catalog_fingerprint(catalog_db)
    items[0]["name"] = "changed"
    broken = {**items[1], "type": "不存在的类型"}
    with pytest.raises(Invalid) as caught:
        catalog.apply_national_items(catalog_db, items=[items[0], broken, "x"], source="bad")
    assert {e.field for e in caught.value.errors} == {"items[1].type", "items[2]"}
    assert catalog.catalog_fingerprint(catalog_db) == fingerprint


def test_withdrawing_by_code(catalog_db: Session) -> None:
    code = catalog.national_items(catalog_db)[0]["code"]
    assert catalog.withdraw_item(catalog_db, code=code) is True
    assert catalog.withdraw_item(catalog_db, code=code) is False
    assert code not in _codes(catalog_db, code)
    assert catalog.get_item(catalog_db, code=code).withdrawn_at is not None  # still readable
    assert catalog.withdraw_item(catalog_db, code=code, withdrawn=False) is True
    assert catalog.get_item(catalog_db, code=code).withdrawn_at is None
    assert code in _codes(catalog_db, code)
    with pytest.raises(NotFound):
        catalog.withdraw_item(catalog_db, code="NO-SUCH-ITEM")
