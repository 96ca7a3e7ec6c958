"""English names of items and bundles (name_en): every seed item and bundle has one, the import
keeps it, the API returns it, and pages in English mode show it (one place chooses the name by
locale: catalog.display_name, the `local_name` filter of the pages)."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.catalog.conftest import small_document
from tongban.catalog import service as catalog

HTML = {"Accept": "text/html"}
EN = {"tb_lang": "en"}


def test_every_seed_item_and_bundle_has_an_english_name() -> None:
    doc: dict[str, Any] = yaml.safe_load(catalog.SEED_PATH.read_text(encoding="utf-8"))
    missing = [i["name"] for i in doc["items"] if not (i.get("name_en") or "").strip()]
    missing += [b["code"] for b in doc["bundles"] if not (b.get("name_en") or "").strip()]
    assert not missing, f"seed entries without name_en: {missing}"
    for entry in doc["items"] + doc["bundles"]:
        english = entry["name_en"]
        assert english.isascii() and english[0].isupper(), english
        assert english != entry["name"]
    # One English name per item: two services never read the same in English.
    names = [i["name_en"] for i in doc["items"]]
    assert len(set(names)) == len(names)


def _with_english(session: Session) -> None:
    doc = small_document()
    doc["items"][0]["name_en"] = "Social security card application"
    doc["bundles"][0]["name_en"] = "Birth of a child: all in one application"
    catalog.import_document(session, data=doc, source="test")


def test_import_keeps_the_english_name_and_the_api_returns_it(
    catalog_db: Session, client: TestClient
) -> None:
    _with_english(catalog_db)
    item = client.get("/api/v1/catalog/items/000000000001").json()
    assert item["name"] == "社会保障卡申领"
    assert item["name_en"] == "Social security card application"
    assert item["implementations"][0]["item_name_en"] == "Social security card application"
    other = client.get("/api/v1/catalog/items/000000000002").json()
    assert other["name_en"] is None
    bundle = catalog.get_bundle(catalog_db, code="BUNDLE-NEWBORN")
    assert bundle.name_en == "Birth of a child: all in one application"
    assert bundle.components[1].item_name_en == "Social security card application"
    # Export keeps the English names (and writes none where there is none): a round trip.
    exported = catalog.export_document(catalog_db)
    assert exported["items"][0]["name_en"] == "Social security card application"
    assert "name_en" not in exported["items"][1]
    assert exported["bundles"][0]["name_en"].startswith("Birth of a child")
    # A later import without English names removes them: the file is the truth.
    catalog.import_document(catalog_db, data=small_document(), source="test")
    assert catalog.get_item(catalog_db, code="000000000001").name_en is None


def test_display_name_chooses_by_locale(catalog_db: Session) -> None:
    _with_english(catalog_db)
    shown = catalog.display_name
    assert shown(catalog_db, name="社会保障卡申领", locale="en") == (
        "Social security card application"
    )
    assert shown(catalog_db, name="社会保障卡申领", locale="zh_CN") == "社会保障卡申领"
    assert shown(catalog_db, name="新生儿出生一件事", locale="en").startswith("Birth of a child")
    # Without an English name, or for a name the catalog does not know: as given.
    assert shown(catalog_db, name="排污许可", locale="en") == "排污许可"
    assert shown(catalog_db, name="已改名的事项", locale="en") == "已改名的事项"
    assert shown(None, name="排污许可", locale="en", name_en="Discharge permit") == (
        "Discharge permit"
    )


def test_pages_in_english_show_english_names(catalog_db: Session, client: TestClient) -> None:
    _with_english(catalog_db)
    page = client.get("/search?q=社保卡", headers=HTML, cookies=EN).text
    assert ">Social security card application</a>" in page
    # An item without an English name stays Chinese, marked as Chinese for screen readers.
    assert '<span lang="zh-CN">电子社会保障卡申领</span>' in page
    page = client.get("/search?q=社保卡", headers=HTML).text
    assert ">社会保障卡申领</a>" in page and "Social security card application" not in page
    page = client.get("/services/000000000001", headers=HTML, cookies=EN).text
    assert "<h1>Social security card application</h1>" in page
    # English readers find the item by an English word too.
    page = client.get("/search?q=security", headers=HTML, cookies=EN).text
    assert ">Social security card application</a>" in page
