"""Chinese search: ranking, pinyin and initials, region/type/range filters, bad parameters."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tongban.catalog import service as catalog
from tongban.platform.errors import Invalid
from tongban.regions import service as regions

SSC = ["社会保障卡申领", "电子社会保障卡申领"]


def names(session: Session, **params: object) -> list[str]:
    hits, _ = catalog.search_items(session, **params)  # type: ignore[arg-type]
    return [h.name for h in hits]


@pytest.mark.parametrize("q", ["社保卡", "shbk", "sbk", "shebaoka", "社会保障卡", "如何办理社保卡"])
def test_social_security_card_items_come_first(catalog_db: Session, q: str) -> None:
    found = names(catalog_db, q=q)
    assert found[:2] == SSC, found


def test_exact_name_beats_prefix_beats_contains(catalog_db: Session) -> None:
    hits, _ = catalog.search_items(catalog_db, q="社会保障卡申领")
    assert hits[0].name == "社会保障卡申领"
    assert hits[0].score > hits[1].score
    found = names(catalog_db, q="社会保障卡")
    assert found.index("社会保障卡申领") < found.index("电子社会保障卡申领")


def test_keyword_and_body_text_match(catalog_db: Session) -> None:
    assert names(catalog_db, q="养老保险转移") == ["企业职工基本养老保险关系转移接续"]
    # 母婴保健法 appears only in the legal basis of 出生医学证明.
    assert names(catalog_db, q="母婴保健法") == ["出生医学证明"]
    assert names(catalog_db, q="no-such-thing-xyz") == []


def test_code_search(catalog_db: Session) -> None:
    assert names(catalog_db, q="000000000005") == ["排污许可"]


def test_region_filter_includes_ancestors(catalog_db: Session) -> None:
    # A resident of 锦江区 is served by 锦江区, 成都市 and 四川省 implementations.
    hits, total = catalog.search_items(catalog_db, region="510104")
    assert {h.name for h in hits} == {"社会保障卡申领", "电子社会保障卡申领", "社会保险登记"}
    assert total == 3
    assert all(h.implementation_count == 1 for h in hits)
    # 南山区: the 深圳市 implementations and its own; not Sichuan's 锦江区 item.
    assert set(names(catalog_db, region="440305")) == {
        "社会保障卡申领",
        "企业职工基本养老保险关系转移接续",
        "排污许可",
    }
    # A 12-digit township code below 南山区 works the same way.
    regions.add_region(catalog_db, code="440305001000", name="南头街道")
    assert "排污许可" in names(catalog_db, region="440305001000")
    # Searching and filtering combine.
    assert names(catalog_db, q="社保卡", region="440305") == ["社会保障卡申领"]


def test_get_item_by_region(catalog_db: Session) -> None:
    detail = catalog.get_item(catalog_db, code="000000000001", region="510104")
    assert [i.code for i in detail.implementations] == ["510000-000000000001-01"]
    assert len(catalog.get_item(catalog_db, code="000000000001").implementations) == 3
    impls = catalog.implementations_for_region(catalog_db, region="350203")
    assert {i.code for i in impls} == {"350200-000000000001-01", "350200-000000000004-01"}


def test_type_and_range_filters(catalog_db: Session) -> None:
    assert names(catalog_db, type="行政许可") == ["排污许可"]
    assert set(names(catalog_db, range="跨省")) == {
        "社会保障卡申领",
        "企业职工基本养老保险关系转移接续",
    }
    hits, _ = catalog.search_items(catalog_db, range="全市")
    counts = {h.name: h.implementation_count for h in hits}
    assert counts == {"社会保障卡申领": 2, "出生医学证明": 1}
    assert names(catalog_db, range="跨省", region="350203") == []


def test_paging_and_total(catalog_db: Session) -> None:
    everything, total = catalog.search_items(catalog_db, limit=100)
    assert total == 6 == len(everything)
    page, total2 = catalog.search_items(catalog_db, limit=2, offset=2)
    assert total2 == 6
    assert [h.code for h in page] == [h.code for h in everything[2:4]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "行政许可证"}, "type"),
        ({"range": "全球"}, "range"),
        ({"region": "999999"}, "region"),
        ({"region": "abc"}, "region"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_bad_parameters_are_named(catalog_db: Session, params: dict, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        catalog.search_items(catalog_db, **params)
    assert [e.field for e in caught.value.errors] == [field]


def test_index_follows_new_imports(catalog_db: Session) -> None:
    from tests.catalog.conftest import small_document

    assert names(catalog_db, q="排污") == ["排污许可"]
    doc = small_document()
    doc["items"][4]["name"] = "排污许可证核发"
    catalog.import_document(catalog_db, data=doc, source="test")
    assert names(catalog_db, q="排污") == ["排污许可证核发"]


def test_search_api(client: TestClient, catalog_db: Session) -> None:
    response = client.get("/api/v1/catalog/items", params={"q": "shbk"})
    assert response.status_code == 200
    body = response.json()
    assert [i["name"] for i in body["items"][:2]] == SSC
    first = body["items"][0]
    assert first["code"] == "000000000001"
    assert first["type"] == "公共服务"
    assert first["cross_province"] is True
    assert first["implementation_count"] == 3
    assert body["total"] >= 2
    response = client.get("/api/v1/catalog/items", params={"region": "510104", "limit": 1})
    assert response.json()["total"] == 3 and len(response.json()["items"]) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"region": "999999"}, "region"),
        ({"type": "nope"}, "type"),
        ({"range": "nope"}, "range"),
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -5}, "offset"),
    ],
)
def test_search_api_rejects_bad_parameters(
    client: TestClient, catalog_db: Session, params: dict, field: str
) -> None:
    response = client.get("/api/v1/catalog/items", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]
