"""The data tracker in a real browser (issue #16, done-when): a fetch of the demo citizen's
pension record shows in 我的数据使用记录 on his phone (360×640, elderly mode, no JavaScript); the
receipt he downloads verifies offline and opens to him; he objects, the steward answers on the
objections desk, and the answer comes back on the line and in his messages. Headless Debian
Chromium, axe-core on each page; one live server (demo SQLite database) for this module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from typer.testing import CliRunner

from tests.exchange.conftest import World, make_case
from tests.support import identity_internals as identity
from tests.support.live import LiveServer
from tests.web.browser import assert_accessible, click, login, new_context
from tests.web.test_browser import _check_elderly_layout
from tongban.exchange import fetch
from tongban.ledger import service as ledger
from tongban.shell.cli import app as cli

pytestmark = pytest.mark.browser

FIELDS = ["holder_name", "insurance_type", "paid_months"]


def _phone_in_elderly_mode(browser: Browser, base: str) -> Page:
    page = new_context(browser, js=False).new_page()
    page.set_viewport_size({"width": 360, "height": 640})
    page.goto(base + "/")
    click(page, "text=切换到长辈版")
    return page


def _fetched_case(live: LiveServer) -> str:
    """An open pension case of the demo citizen, whose record the official fetched."""
    with live.database.session_scope() as session:
        world = World()
        for name in ("citizen", "official"):
            account = identity.find_account_by_username(session, username=name)
            assert account is not None
            world.accounts[name] = account
        world.departments["pension"] = identity.get_department_by_code(
            session, code=identity.DEMO_DEPARTMENT_CODE
        )
        number = make_case(session, world).number
        fetch.fetch_for_case(
            session,
            actor=identity.actor_for(world.accounts["official"]),
            case_number=number,
            resource_code="RS-YLBX-001",
            fields=FIELDS,
            purpose="核验参保缴费情况",
            settings=live.settings,
        )
    with live.database.session_scope() as session:
        ledger.integrate_pending(session, settings=live.settings, full_scan=True)
    return number


def test_a_fetch_in_the_tracker_its_receipt_offline_and_an_objection_answered(
    live: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    number = _fetched_case(live)

    # The citizen, on his phone in elderly mode, opens 我的数据使用记录 from the menu.
    phone = _phone_in_elderly_mode(browser, live.url)
    login(phone, live.url, "citizen")
    click(phone, "nav a:has-text('我的数据使用记录')")
    text = phone.locator("main").inner_text()
    for expected in ("已从其他部门共享获取您的数据", number, "广安区社会保险事业管理局"):
        assert expected in text, expected
    assert "核验参保缴费情况" in text and "工号" in text
    _check_elderly_layout(phone)
    assert_accessible(browser, phone)

    # The line: its proof, and the receipt that opens to him, which he checks offline.
    click(phone, "main ol.cards h2 a >> nth=0")
    assert "/my/data-usage/" in phone.url
    _check_elderly_layout(phone)
    assert_accessible(browser, phone)
    with phone.expect_download() as download:
        phone.click("main a[download]")
    path = tmp_path / "my-receipt.json"
    download.value.save_as(path)
    receipt = json.loads(path.read_text(encoding="utf-8"))
    assert receipt["opening"]["committed"]["resource_id"] == number
    result = CliRunner().invoke(
        cli, ["ledger", "verify-receipt", str(path), "--key", ledger.public_key(live.settings)]
    )
    assert result.exit_code == 0, result.output
    assert "OPENED" in result.output and receipt["event_uid"] in result.output
    # The public proof page says the step is in the signed ledger.
    line_url = phone.url
    click(phone, "main a:has-text('存证凭据') >> nth=0")
    assert "/ledger/receipts/" in phone.url
    assert "已核验" in phone.locator("main").inner_text()

    # He objects: he did not expect it.
    phone.goto(line_url)
    phone.fill("#f-text", "我没有想到社保局会查我的缴费记录")
    click(phone, "main form button")
    assert "您的异议已发送" in phone.locator("main").inner_text()
    _check_elderly_layout(phone)
    assert_accessible(browser, phone)

    # The steward answers on the objections desk, within the working-day deadline.
    desk = new_context(browser, js=False).new_page()
    login(desk, live.url, "steward")
    click(desk, "nav summary")  # the steward's later entries fold under 更多
    click(desk, "nav a:has-text('数据使用异议')")
    assert "我没有想到社保局会查我的缴费记录" in desk.locator("main").inner_text()
    assert_accessible(browser, desk)
    answer = "您办理养老保险关系转移时，依共享协议核验了缴费记录。"
    desk.fill("main textarea[name=answer] >> nth=0", answer)
    click(desk, "main form button >> nth=0")
    assert "答复已发送给群众" in desk.locator("main").inner_text()

    # The answer is back on his line, and in his messages.
    phone.goto(line_url)
    assert "依共享协议核验了缴费记录" in phone.locator("main").inner_text()
    phone.goto(live.url + "/my/messages")
    assert "依共享协议核验了缴费记录" in phone.locator("main").inner_text()
