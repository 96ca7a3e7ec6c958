"""The catalog import page (/admin/catalog/import) and the API's worded problems: a workbook
with row errors is refused in the reader's language with sheet, row and column and changes
nothing; a clean one is checked, then imported with its event; the sample reads back clean; a
file that is not a workbook is refused by its content, whatever its name."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.catalog.test_api import bearer
from tests.catalog.test_import import counts
from tests.support import identity_internals as identity
from tests.support.databases import Seed
from tests.support.seeds import DEMO
from tongban.catalog.import_sample import sample_workbook
from tongban.catalog.models import ItemType
from tongban.events.models import Event
from tongban.platform.config import Settings
from tongban.regions import service as regions

HTML = {"accept": "text/html"}
PAGE = "/admin/catalog/import"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    return {"staff": DEMO}


@pytest.fixture
def staff(db: Session, client: TestClient, settings: Settings) -> TestClient:
    """The client over a database with the regions and the demo accounts."""
    regions.load_builtin(db)
    identity.create_demo_accounts(db, settings=settings)
    db.flush()
    return client


def _token(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path, headers=HTML).text)
    assert match
    return match.group(1)


def _login(client: TestClient, username: str = "admin") -> None:
    response = client.post(
        "/login",
        data={
            "csrf_token": _token(client, "/login"),
            "username": username,
            "password": "tongban-demo",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303


def _post(client: TestClient, content: bytes, *, action: str, name: str = "目录.xlsx") -> Any:
    return client.post(
        PAGE,
        data={"csrf_token": _token(client, PAGE), "action": action},
        files={"file": (name, content, XLSX)},
        headers=HTML,
        follow_redirects=False,
    )


def _with_wrong_type(content: bytes) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(content))
    items = book["事项"]
    column = [c.value for c in items[1]].index("事项类型") + 1
    items.cell(row=2, column=column, value="行政许可证")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_workbook_with_row_errors_is_refused_in_chinese_and_changes_nothing(
    staff: TestClient, db: Session
) -> None:
    _login(staff)
    sample = staff.get(f"{PAGE}/sample.xlsx")
    assert sample.status_code == 200 and sample.headers["content-type"] == XLSX
    before = counts(db)
    response = _post(staff, _with_wrong_type(sample.content), action="import")
    assert response.status_code == 422
    text = _text(response.text)
    assert "发现 1 处问题，未导入任何内容。" in text
    assert "工作表“事项”第 2 行，“事项类型”列" in text
    assert "“行政许可证”不能填在这里。可填：行政许可、" in text
    assert counts(db) == before  # no item, no event


def test_problems_are_in_english_in_english_mode(staff: TestClient) -> None:
    _login(staff)
    staff.cookies.set("tb_lang", "en")
    content = _with_wrong_type(staff.get(f"{PAGE}/sample.xlsx").content)
    text = _text(_post(staff, content, action="check").text)
    assert "Sheet “事项”, row 2, column “事项类型”" in text
    assert "“行政许可证” is not allowed here." in text


def test_the_sample_round_trips_and_a_clean_workbook_is_imported_with_its_event(
    staff: TestClient, db: Session
) -> None:
    _login(staff)
    content = staff.get(f"{PAGE}/sample.xlsx").content
    before = counts(db)
    checked = _post(staff, content, action="check")
    assert checked.status_code == 200
    text = _text(checked.text)
    assert "工作簿检查无误" in text
    assert counts(db) == before  # the check is a dry run: not even its event stays
    imported = _post(staff, content, action="import")
    assert imported.status_code == 303
    assert imported.headers["location"].startswith(f"{PAGE}?done=")
    after = counts(db)
    assert after["catalog_items"] == before["catalog_items"] + 1
    assert after["catalog_bundles"] == before["catalog_bundles"] + 1
    event = db.scalars(
        select(Event).where(Event.action == "catalog.imported").order_by(Event.id.desc())
    ).first()
    assert event is not None and event.channel == "online" and event.actor_role == "admin"
    assert event.data["items_created"] == 1
    summary = _text(staff.get(imported.headers["location"], headers=HTML).text)
    assert "事项目录已导入" in summary
    # The same workbook again: nothing changes, and the page says so.
    again = _post(staff, content, action="import")
    assert again.status_code == 303 and again.headers["location"] == PAGE
    assert "没有任何改动" in staff.get(PAGE, headers=HTML).text


def _zip(name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, "<x/>")
    return out.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
        b"version: 1\nitems: []\n",
        _zip("word/document.xml"),  # a Word file is a zip too, but no workbook
        b"PK\x03\x04 truncated",
    ],
    ids=["pdf", "yaml", "docx", "broken-zip"],
)
def test_a_file_that_is_no_workbook_is_refused_by_content(
    staff: TestClient, db: Session, content: bytes
) -> None:
    _login(staff)
    before = counts(db)
    response = _post(staff, content, action="import", name="catalog.xlsx")
    assert response.status_code == 422
    assert "这个文件不是 Excel 工作簿（.xlsx）" in _text(response.text)
    assert counts(db) == before


def test_no_file_and_an_oversized_file_are_explained(staff: TestClient, settings: Settings) -> None:
    _login(staff)
    response = staff.post(
        PAGE, data={"csrf_token": _token(staff, PAGE), "action": "check"}, headers=HTML
    )
    assert response.status_code == 422
    assert "请选择要导入的 Excel 工作簿" in _text(response.text)
    settings.import_max_bytes = 1000
    response = _post(staff, sample_workbook(), action="check")
    assert response.status_code == 422
    assert "文件超过 1 KB" in _text(response.text)


@pytest.mark.parametrize("role", ["citizen", "clerk", "official", "steward"])
def test_only_those_who_may_import_reach_the_page(staff: TestClient, role: str) -> None:
    _login(staff, role)
    assert staff.get(PAGE, headers=HTML).status_code == 403
    assert staff.get(f"{PAGE}/sample.xlsx", headers=HTML).status_code == 403


def test_the_api_words_problems_in_the_callers_language(
    staff: TestClient, db: Session, settings: Settings
) -> None:
    headers = bearer(staff, db, settings, "admin")
    content = _with_wrong_type(sample_workbook())
    response = staff.post(
        "/api/v1/catalog/import",
        content=content,
        headers={**headers, "accept-language": "zh-CN,zh;q=0.9"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["detail"] == "文件中有 1 处问题，未导入任何内容。"
    assert body["errors"] == [
        {
            "field": "sheet 1, row 2, type",
            "message": "工作表“事项”第 2 行，“事项类型”列：“行政许可证”不能填在这里。可填："
            + "、".join(t.value for t in ItemType)
            + "。",
        }
    ]
    english = staff.post(
        "/api/v1/catalog/import", content=content, headers={**headers, "accept-language": "en"}
    ).json()
    assert english["errors"][0]["message"].startswith(
        "Sheet “事项”, row 2, column “事项类型”: “行政许可证” is not allowed here."
    )
    # Without a language: the English of the CLI, as before.
    plain = staff.post("/api/v1/catalog/import", content=content, headers=headers).json()
    assert plain["errors"][0]["message"].startswith("sheet 1, row 2: type: Input should be")
