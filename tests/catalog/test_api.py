"""Catalog API: public reads, and import/export behind authorize()."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.catalog.conftest import FIXTURE
from tests.support import identity_internals as identity
from tongban.platform.config import Settings

PASSWORD = "correct horse battery"


def bearer(
    client: TestClient, db: Session, settings: Settings, role: str, **fields: Any
) -> dict[str, str]:
    """Create an account with this role and return its Authorization header."""
    if role == "official":
        department = identity.ensure_department(
            db,
            code=identity.make_uscc(body="11510000MB9999999"),
            name="测试局",
            region_code="510000",
        )
        fields["department_code"] = department.code
    if role == "citizen":
        fields["resident_id"] = identity.make_resident_id(
            region_code="511602", birth=__import__("datetime").date(1980, 1, 1), sequence=7
        )
    if role == "clerk":
        fields["region_code"] = "440305"
    identity.create_account(
        db, username=f"{role}-cat", password=PASSWORD, role=role, settings=settings, **fields
    )
    response = client.post(
        "/api/v1/auth/token", json={"username": f"{role}-cat", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_item_detail(client: TestClient, catalog_db: Session) -> None:
    response = client.get("/api/v1/catalog/items/000000000001")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "社会保障卡申领"
    assert body["legal_basis"].startswith("《中华人民共和国社会保险法》")
    assert len(body["implementations"]) == 3
    sichuan = next(i for i in body["implementations"] if i["region_code"] == "510000")
    assert sichuan["authority_name"] == "四川省人力资源和社会保障厅"
    assert sichuan["statutory_limit"] == {"value": 20, "unit": "working_days", "note": ""}
    assert sichuan["promised_limit"]["value"] == 10
    assert sichuan["visits"] == 1 and sichuan["online_depth"] == 4
    assert sichuan["tongban_range"] == "跨省"
    assert [m["name"] for m in sichuan["materials"]] == ["居民身份证", "近期免冠照片"]
    assert sichuan["form_fields"][0]["name"] == "reason"
    by_region = client.get("/api/v1/catalog/items/000000000001", params={"region": "440305"}).json()
    assert [i["code"] for i in by_region["implementations"]] == ["440300-000000000001-01"]
    assert by_region["implementations"][0]["fees"][0]["amount"] in ("20.00", 20.0)
    assert client.get("/api/v1/catalog/items/nope").status_code == 404
    bad = client.get("/api/v1/catalog/items/000000000001", params={"region": "990000"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "region"


def test_implementation_and_bundles(client: TestClient, catalog_db: Session) -> None:
    impl = client.get("/api/v1/catalog/implementations/440305-000000000003-01").json()
    assert impl["item_code"] == "000000000003"
    assert impl["co_handlers"] == [
        {
            "authority_name": "四川省人力资源和社会保障厅",
            "authority_code": "11510000MB0000001R",
            "region_code": "510000",
        }
    ]
    assert client.get("/api/v1/catalog/implementations/nope").status_code == 404
    bundles = client.get("/api/v1/catalog/bundles").json()
    assert [b["code"] for b in bundles] == ["BUNDLE-NEWBORN"]
    bundle = client.get("/api/v1/catalog/bundles/BUNDLE-NEWBORN").json()
    assert [c["item_name"] for c in bundle["components"]] == ["出生医学证明", "社会保障卡申领"]
    assert bundle["promised_limit"]["value"] == 5
    assert client.get("/api/v1/catalog/bundles/NOPE").status_code == 404


def test_import_and_export_need_login(client: TestClient, catalog_db: Session) -> None:
    assert client.post("/api/v1/catalog/import", content=FIXTURE.read_bytes()).status_code == 401
    assert client.get("/api/v1/catalog/export").status_code == 401


@pytest.mark.parametrize(("role", "can_import", "can_export"), [
    ("citizen", False, False), ("clerk", False, False), ("official", False, False),
    ("steward", False, True), ("admin", True, True),
])  # fmt: skip
def test_roles(
    client: TestClient,
    catalog_db: Session,
    settings: Settings,
    role: str,
    can_import: bool,
    can_export: bool,
) -> None:
    headers = bearer(client, catalog_db, settings, role)
    response = client.post("/api/v1/catalog/import", content=FIXTURE.read_bytes(), headers=headers)
    assert response.status_code == (200 if can_import else 403), response.text
    response = client.get("/api/v1/catalog/export", headers=headers)
    assert response.status_code == (200 if can_export else 403)


def test_admin_import_upload_and_export(
    client: TestClient, catalog_db: Session, settings: Settings
) -> None:
    headers = bearer(client, catalog_db, settings, "admin")
    # multipart upload of YAML
    files = {"file": ("catalog.yaml", FIXTURE.read_bytes(), "application/octet-stream")}
    response = client.post("/api/v1/catalog/import", files=files, headers=headers)
    assert response.status_code == 200
    assert response.json()["items_unchanged"] == 6
    # export in three formats; each imports back with no change
    for fmt in ("json", "yaml", "xlsx"):
        exported = client.get("/api/v1/catalog/export", params={"format": fmt}, headers=headers)
        assert exported.status_code == 200
        again = client.post("/api/v1/catalog/import", content=exported.content, headers=headers)
        assert again.status_code == 200, again.text
        assert again.json()["changed"] is False
    xlsx = client.get("/api/v1/catalog/export", params={"format": "xlsx"}, headers=headers).content
    assert openpyxl.load_workbook(io.BytesIO(xlsx)).sheetnames[0] == "items"
    assert (
        yaml.safe_load(
            client.get("/api/v1/catalog/export", params={"format": "yaml"}, headers=headers).text
        )["items"][0]["code"]
        == "000000000001"
    )
    bad = client.get("/api/v1/catalog/export", params={"format": "csv"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "format"


def test_admin_import_errors(client: TestClient, catalog_db: Session, settings: Settings) -> None:
    headers = bearer(client, catalog_db, settings, "admin")
    doc = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    doc["items"][0]["implementations"][0]["promised_limit"]["value"] = 30
    response = client.post("/api/v1/catalog/import", json=doc, headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "items[0].implementations[0].promised_limit"
    response = client.post("/api/v1/catalog/import", content=b"PK\x03\x04broken", headers=headers)
    assert response.status_code == 422
    assert "not a valid Excel workbook" in response.json()["detail"]
    response = client.post("/api/v1/catalog/import", content=b"", headers=headers)
    assert response.status_code == 422
    settings.import_max_bytes = 100
    response = client.post("/api/v1/catalog/import", content=FIXTURE.read_bytes(), headers=headers)
    assert response.status_code == 413
