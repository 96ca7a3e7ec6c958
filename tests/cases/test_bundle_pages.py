"""一件事 on the pages, without JavaScript: the bundle in search and on the home page, its
guide (each component, each paper once), one form that asks a shared field once, and the
bundle's case page and receipt with its sub-cases."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cases.conftest import PNG_BYTES, Clock, World, catalog_document, page_login
from tests.support import cases_internals as cases
from tongban.catalog import service as catalog

HTML = {"Accept": "text/html"}
BUNDLE = "BUNDLE-NEWBORN-TEST"


def _with_fields(db: Session) -> None:
    """The fixture bundle's components ask the baby's name (both), and each its own field;
    the medical insurance also wants the household booklet (户口簿)."""
    document = catalog_document()
    extra: dict[str, dict[str, Any]] = {
        "TEST-BIRTH-350200": {
            "form_fields": [
                {"name": "baby_name", "label": "新生儿姓名", "required": True},
                {"name": "birth_date", "label": "出生日期", "type": "date", "required": True},
            ]
        },
        "TEST-HUKOU-350200": {
            "form_fields": [
                {"name": "baby_name", "label": "新生儿姓名", "required": True},
                {"name": "hukou_address", "label": "落户地址", "required": True},
            ]
        },
        "TEST-MEDINS-350200": {
            "materials": [{"name": "户口簿", "required": True, "source": "applicant"}]
        },
    }
    for item in document["items"]:
        for impl in item.get("implementations", []):
            impl.update(extra.get(impl["code"], {}))
    catalog.import_document(db, data=document, source="tests/cases bundle pages")
    db.flush()


def _form(browser: TestClient, url: str) -> tuple[str, dict[str, str]]:
    page = browser.get(url, headers=HTML)
    assert page.status_code == 200, page.text[:800]
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return page.text, hidden


def _case_count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(cases.Case)) or 0)


def test_search_shows_the_bundle_first_and_the_guide_lists_each_paper_once(
    client: TestClient, world: World, db: Session
) -> None:
    _with_fields(db)
    page = client.get("/search", params={"q": "新生儿出生"}, headers=HTML)
    assert page.status_code == 200
    cards = re.findall(r'<a href="(/(?:bundles|services)/[^"]+)"', page.text)
    assert cards[0] == f"/bundles/{BUNDLE}", cards
    # A component's name finds the bundle too, before the item itself.
    page = client.get("/search", params={"q": "医保参保"}, headers=HTML)
    cards = re.findall(r'<a href="(/(?:bundles|services)/[^"]+)"', page.text)
    assert cards[0] == f"/bundles/{BUNDLE}" and "/services/TEST-BIRTH-MEDINS" in cards
    assert f"/bundles/{BUNDLE}" not in client.get("/search", params={"q": "养老"}).text

    guide = client.get(f"/bundles/{BUNDLE}", headers=HTML)
    assert guide.status_code == 200
    html = guide.text
    for name, authority in [
        ("户口登记（出生登记）", "厦门市公安局"),
        ("城乡居民医保参保登记", "厦门市医疗保障局"),
    ]:
        assert name in html and authority in html
    # 父母身份证 is on two checklists: asked once. 出生医学证明 comes from the records.
    assert html.count("父母身份证") == 1 and "户口簿" in html
    assert "出生医学证明" in html and "通过数据共享获取" in html
    assert f'href="/bundles/{BUNDLE}/apply"' in html
    # Anonymous: the application sends them to log in, and back.
    r = client.get(f"/bundles/{BUNDLE}/apply", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert "next=" in r.headers["location"] and "bundles" in r.headers["location"]
    assert client.get("/bundles/NO-SUCH", headers=HTML).status_code == 404


def test_one_form_files_the_parent_and_a_sub_case_per_component(
    app: FastAPI, client: TestClient, world: World, clock: Clock, db: Session
) -> None:
    clock.set(2026, 4, 7)
    _with_fields(db)
    browser = page_login(app, "t-migrant")
    url = f"/bundles/{BUNDLE}/apply"
    html, hidden = _form(browser, url)
    # The baby's name once, under the shared details; each item's own field in its section.
    assert html.count('name="form.baby_name"') == 1
    assert html.index("form.baby_name") < html.index("form.birth_date")
    assert html.index("form.birth_date") < html.index("form.hukou_address")
    assert html.count('type="file"') == 2  # 父母身份证 once, 户口簿; 出生医学证明 is shared

    before = _case_count(db)
    r = browser.post(
        url,
        data={**hidden, "form.baby_name": "李小宝", "form.birth_date": "2026-13-01"},
        files={"file0": ("ids.png", PNG_BYTES)},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 422
    assert "f-form.birth_date" in r.text and "f-form.hukou_address" in r.text
    assert "f-file1" in r.text and "请重新选择" in r.text
    assert 'value="李小宝"' in r.text
    assert _case_count(db) == before

    # In English, the messages are English.
    browser.cookies.set("tb_lang", "en")
    r = browser.post(url, data=hidden, headers=HTML, follow_redirects=False)
    assert r.status_code == 422 and "Fill in this field" in r.text
    assert "choose your files again" not in r.text  # no file was chosen
    browser.cookies.set("tb_lang", "zh_CN")
    assert _case_count(db) == before

    r = browser.post(
        url,
        data={
            **hidden,
            "form.baby_name": "李小宝",
            "form.birth_date": "2026-04-01",
            "form.hukou_address": "厦门市思明区",
        },
        files={"file0": ("ids.png", PNG_BYTES), "file1": ("booklet.png", PNG_BYTES)},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:2000]
    number = r.headers["location"].split("?")[0].removeprefix("/cases/")
    parent = client.get(f"/api/v1/cases/{number}", headers=world.h("migrant")).json()
    assert parent["kind"] == "bundle" and parent["form"]["baby_name"] == "李小宝"
    subs = parent["sub_cases"]
    assert [s["number"] for s in subs] == [f"{number}-01", f"{number}-02", f"{number}-03"]
    hukou = client.get(f"/api/v1/cases/{subs[1]['number']}", headers=world.h("migrant")).json()
    assert {line["name"]: line["present"] for line in hukou["checklist"]} == {
        "父母身份证": True,
        "出生医学证明": False,
    }
    medins = client.get(f"/api/v1/cases/{subs[2]['number']}", headers=world.h("migrant")).json()
    assert [(line["name"], line["present"]) for line in medins["checklist"]] == [("户口簿", True)]

    # The bundle's case page: each sub-case with its department and state, no "decided by".
    page = browser.get(f"/cases/{number}", headers=HTML)
    assert page.status_code == 200
    for sub in subs:
        assert f'href="/cases/{sub["number"]}"' in page.text
    assert "厦门市医疗保障局" in page.text and "办理机关" not in page.text
    assert page.text.count("已接件，等待受理") == 3
    receipt = browser.get(f"/cases/{number}/receipt", headers=HTML)
    assert receipt.status_code == 200
    for sub in subs:
        assert sub["number"] in receipt.text
    assert "厦门市公安局" in receipt.text


def test_only_citizens_apply_for_a_bundle_on_the_page(
    app: FastAPI, world: World, db: Session
) -> None:
    clerk = page_login(app, "t-clerk")
    assert clerk.get(f"/bundles/{BUNDLE}/apply", headers=HTML).status_code == 403
    official = page_login(app, "t-birth-official")
    assert official.get(f"/bundles/{BUNDLE}/apply", headers=HTML).status_code == 403
