"""Item types in English mode (issue #14): search results and the service page say the type in
English (catalog/item_types.py: 行政许可 → Administrative licence …); the department has no
English name in the data and stays Chinese, marked lang="zh-CN"; the proxies page offers
"Only <the item's English name>"."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.catalog.conftest import small_document
from tests.support import identity_internals as identity
from tests.web.test_pages import _login
from tongban.catalog import item_types
from tongban.catalog import service as catalog
from tongban.catalog.models import ItemType
from tongban.platform.config import Settings
from tongban.platform.web import i18n

HTML = {"Accept": "text/html"}
EN = {"tb_lang": "en"}


def test_every_item_type_has_an_english_label_and_a_chinese_translation() -> None:
    assert set(item_types.LABELS) == {str(t) for t in ItemType}
    zh = i18n.translations("zh_CN").gettext
    for chinese, english in item_types.LABELS.items():
        assert english.isascii() and zh(english) == chinese, english
    assert item_types.type_labels("zh_CN", zh)["行政给付"] == "行政给付"
    en = item_types.type_labels("en", i18n.translations("en").gettext)
    assert en["行政许可"] == "Administrative licence" and en["公共服务"] == "Public service"


def test_search_results_say_the_type_in_english(catalog_db: Session, client: TestClient) -> None:
    page = client.get("/search?q=排污", headers=HTML, cookies=EN).text
    assert '<span lang="zh-CN">生态环境部门</span> · Administrative licence' in page
    assert "行政许可" not in page
    page = client.get("/search?q=排污", headers=HTML).text
    assert "生态环境部门</span> · 行政许可" in page and "Administrative licence" not in page


def test_the_service_page_says_the_type_in_english(catalog_db: Session, client: TestClient) -> None:
    page = client.get("/services/000000000004", headers=HTML, cookies=EN).text
    assert '<span class="term">Administrative confirmation</span>' in page
    assert '<dd lang="zh-CN">卫生健康部门</dd>' in page
    page = client.get("/services/000000000005", headers=HTML, cookies=EN).text
    assert '<span class="term">Administrative licence</span>' in page
    page = client.get("/services/000000000005", headers=HTML).text
    assert '<span class="term">行政许可</span>' in page


def test_the_proxy_choice_names_the_item_in_english(
    catalog_db: Session, client: TestClient, settings: Settings
) -> None:
    doc = small_document()
    doc["items"][0]["name_en"] = "Social security card application"
    catalog.import_document(catalog_db, data=doc, source="test")
    identity.create_demo_accounts(catalog_db, settings=settings)
    catalog_db.flush()
    _login(client)
    page = client.get("/account/proxies?item=000000000001", headers=HTML, cookies=EN).text
    assert "Only Social security card application" in page
    page = client.get("/account/proxies?item=000000000001", headers=HTML).text
    assert "社会保障卡申领" in page and "Social security card application" not in page
