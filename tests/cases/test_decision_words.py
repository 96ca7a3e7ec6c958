"""The words of a decision follow the item's type (issue #14): 准予许可 / 不予许可 only for a
licence (行政许可); a public service is 准予办理 / 不予办理, and so on from one table
(cases/decisions.py). The buttons, the decision form's confirmation, the notice after it, the
state shown and the applicant's message all say the same."""

from __future__ import annotations

import copy
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.conftest import (
    MIGRANT_ID,
    PNG_BYTES,
    World,
    catalog_document,
    page_login,
    service_act,
)
from tests.support import cases_internals as cases
from tongban.cases import decisions
from tongban.cases.models import Message
from tongban.cases.schemas import CaseCreate
from tongban.catalog import service as catalog
from tongban.catalog.models import ItemType
from tongban.platform.config import Settings
from tongban.platform.web import i18n


def add_licence_item(db: Session) -> None:
    """A licence (行政许可) decided by the pension department, beside the fixture catalog."""
    doc = catalog_document()
    pension = next(i for i in doc["items"] if i["code"] == "TEST-PENSION-TRANSFER")
    item = copy.deepcopy(pension)
    item.update(code="TEST-LICENCE", name="养老服务机构设立许可", type="行政许可")
    item["implementations"][0]["code"] = "TEST-LICENCE-511602"
    catalog.import_document(db, data={"version": 1, "items": [item]}, source="tests/words")


def file_case(db: Session, world: World, settings: Settings, implementation: str) -> Any:
    """The clerk files an application for the migrant; returns the case accepted."""
    sha = cases.upload(db, actor=world.actor("clerk"), data=PNG_BYTES, settings=settings)
    body = CaseCreate.model_validate(
        {
            "implementation": implementation,
            "form": {"transfer_reason": "跨省就业"},
            "materials": [
                {"name": "居民身份证", "sha256": sha.sha256},
                {"name": "转移申请表", "sha256": sha.sha256},
            ],
            "applicant": {"resident_id": MIGRANT_ID, "name": "李建国", "identity_confirmed": True},
        }
    )
    case, _ = cases.submit(db, actor=world.actor("clerk"), data=body, settings=settings)
    return service_act(db, world, settings, "official", case, "accept")


def test_the_table_gives_licence_words_only_to_licences() -> None:
    assert decisions.words_for("行政许可").granted_zh == "准予许可"
    assert decisions.words_for("行政许可").refused_zh == "不予许可"
    for kind in ItemType:
        words = decisions.words_for(kind.value)
        if kind is not ItemType.LICENSING:
            assert "许可" not in words.granted_zh + words.refused_zh, kind
    assert decisions.words_for("公共服务") is decisions.SERVICE
    assert decisions.words_for(None).granted_zh == "准予办理"
    assert decisions.words_for("行政给付").granted_zh == "准予给付"
    assert decisions.words_for("行政确认").refused_zh == "不予确认"
    # Every word of every row is translated, and the Chinese names the same decision.
    zh = i18n.translations("zh_CN")
    for words in decisions.ALL_WORDS:
        assert zh.gettext(words.approve) == words.granted_zh
        assert zh.gettext(words.reject) == words.refused_zh
        for msgid in (words.confirm_approve, words.done_approve, words.approved):
            assert words.granted_zh in zh.gettext(msgid), msgid
        for msgid in (words.confirm_reject, words.done_reject, words.rejected):
            assert words.refused_zh in zh.gettext(msgid), msgid


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_a_public_service_is_granted_not_licensed(
    db: Session, world: World, settings: Settings, app: Any
) -> None:
    case = file_case(db, world, settings, "TEST-PENSION-511602")  # 公共服务
    browser = page_login(app, "t-official")
    page = browser.get(f"/cases/{case.number}")
    assert page.status_code == 200
    assert "准予办理" in page.text and "不予办理" in page.text
    assert "准予许可" not in page.text and "不予许可" not in page.text
    form = browser.get(f"/cases/{case.number}/act/approve")
    assert form.status_code == 200
    assert "<h1>准予办理</h1>" in form.text
    assert "申请人会收到“准予办理”的通知" in form.text  # the confirmation
    assert "准予许可" not in form.text and "不予许可" not in form.text
    r = browser.post(
        f"/cases/{case.number}/act/approve",
        data={
            "csrf_token": _csrf(form.text),
            "version": str(case.version),
            "decision_text": "经审核，准予办理。",
        },
    )
    assert r.status_code == 200, r.text  # followed to the case page
    assert "操作完成：已准予办理。" in r.text
    assert "已准予办理" in r.text and "准予许可" not in r.text
    texts = db.scalars(select(Message.text).where(Message.case_number == case.number)).all()
    assert any("已准予办理" in t for t in texts) and not any("准予许可" in t for t in texts)


def test_a_licence_is_granted_or_refused_as_a_licence(
    db: Session, world: World, settings: Settings, app: Any
) -> None:
    add_licence_item(db)
    case = file_case(db, world, settings, "TEST-LICENCE-511602")
    browser = page_login(app, "t-official")
    page = browser.get(f"/cases/{case.number}")
    assert "准予许可" in page.text and "不予许可" in page.text
    assert "准予办理" not in page.text
    form = browser.get(f"/cases/{case.number}/act/reject")
    assert "<h1>不予许可</h1>" in form.text and "申请人会收到“不予许可”的通知及理由" in form.text
    r = browser.post(
        f"/cases/{case.number}/act/reject",
        data={
            "csrf_token": _csrf(form.text),
            "version": str(case.version),
            "reason": "条件不符",
            "decision_text": "不符合设立条件。",
        },
    )
    assert r.status_code == 200, r.text
    assert "操作完成：已作出不予许可决定。" in r.text
    texts = db.scalars(select(Message.text).where(Message.case_number == case.number)).all()
    assert any("不予许可：条件不符" in t for t in texts)
    # The workbench lists the decided case in the same words.
    work = browser.get("/work", params={"state": "rejected"})
    assert case.number in work.text and "不予许可" in work.text
    # In English, the same row of the table.
    english = browser.get(f"/cases/{case.number}", cookies={"tb_lang": "en"})
    assert "Licence refused" in english.text
