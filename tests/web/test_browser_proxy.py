"""A relative acts for an elderly parent only once she has accepted, and the parent is told
(issue #13, item 7), and a citizen asks a clerk for help (item 6): real headless Chromium at
360×640 in elderly mode, without JavaScript, axe-core on each page."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.support.live import DEMO_IMPLEMENTATION, LiveServer
from tests.web.browser import assert_accessible, click, login, new_context
from tests.web.test_browser import PNG, _case_number, _check_elderly_layout
from tongban.identity.resident_id import make_resident_id

pytestmark = pytest.mark.browser

DAUGHTER_ID = make_resident_id(region_code="440305", birth=date(1978, 4, 2), sequence=58)
DAUGHTER_PHONE = "13600001234"
PASSWORD = "daughter-password-1"


def _phone(browser: Browser) -> Page:
    page = new_context(browser, js=False).new_page()
    page.set_viewport_size({"width": 360, "height": 640})
    return page


def _elderly(page: Page, base: str) -> None:
    page.goto(base + "/")
    click(page, "text=切换到长辈版")


def test_a_proxy_is_granted_accepted_used_and_the_parent_is_told(
    live: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    # The daughter registers her own account.
    daughter = _phone(browser)
    _elderly(daughter, live.url)
    daughter.goto(live.url + "/register")
    daughter.fill("#f-display_name", "王小梅")
    daughter.fill("#f-resident_id", DAUGHTER_ID)
    daughter.fill("#f-phone", DAUGHTER_PHONE)
    daughter.fill("#f-password", PASSWORD)
    daughter.fill("#f-password_confirm", PASSWORD)
    click(daughter, "main form button")
    assert daughter.url.endswith("/account")

    # The father (the demo citizen) authorises her by her phone number.
    father = _phone(browser)
    _elderly(father, live.url)
    login(father, live.url, "citizen")
    father.goto(live.url + "/account/proxies")
    father.fill("#f-agent", DAUGHTER_PHONE)
    click(father, "main form button:has-text('授权')")
    assert "对方确认接受后生效" in father.locator("main .notice").inner_text()
    assert "等待对方确认" in father.locator("main").inner_text()
    _check_elderly_layout(father)
    assert_accessible(browser, father)

    # Before she accepts, she cannot apply for him.
    daughter.goto(f"{live.url}/apply/{DEMO_IMPLEMENTATION}")
    assert daughter.locator("#f-on_behalf_of").count() == 0
    daughter.goto(live.url + "/account/proxies")
    assert "请您为其代办" in daughter.locator("main").inner_text()
    _check_elderly_layout(daughter)
    assert_accessible(browser, daughter)
    click(daughter, "main form button:has-text('接受')")
    assert "您已接受授权" in daughter.locator("main .notice").inner_text()

    # Now she files 失业登记 for him.
    paper = tmp_path / "id.png"
    paper.write_bytes(PNG)
    daughter.goto(f"{live.url}/apply/{DEMO_IMPLEMENTATION}")
    daughter.select_option("#f-on_behalf_of", label="王建国")
    daughter.fill("#f-form\\.residence", "四川省广安市广安区")
    daughter.fill("#f-form\\.unemployed_since", "2026-01-05")
    click(daughter, "main button:has-text('下一步')")
    daughter.select_option("#f-material", "居民身份证")
    daughter.set_input_files("#f-file", str(paper))
    click(daughter, "main button:has-text('上传')")
    click(daughter, "a.button:has-text('下一步')")
    click(daughter, "main button:has-text('提交申请')")
    number = _case_number(daughter)
    daughter.goto(f"{live.url}/cases/{number}")
    assert "王小梅（申请人授权的亲友）代为提交" in daughter.locator("main").inner_text()

    # The father is told, in his messages, and sees who filed it on the case page.
    father.goto(live.url + "/my/messages")
    assert "亲友代办提交" in father.locator("main").inner_text()
    father.goto(f"{live.url}/cases/{number}")
    assert "代为提交" in father.locator("main").inner_text()
    _check_elderly_layout(father)
    assert_accessible(browser, father)


def test_a_citizen_asks_for_help_and_the_clerk_sees_it(live: LiveServer, browser: Browser) -> None:
    page = _phone(browser)
    _elderly(page, live.url)
    click(page, "footer a[href='/help']")
    assert "12345" in page.locator("main").inner_text()
    _check_elderly_layout(page)
    assert_accessible(browser, page)
    page.fill("#f-name", "刘淑珍")
    page.fill("#f-phone", "139")
    click(page, "main form button")
    assert "11 位手机号" in page.locator(".error-summary").inner_text()
    assert_accessible(browser, page)
    page.fill("#f-phone", "13911112222")
    page.fill("#f-topic", "老人卡怎么办")
    click(page, "main form button")
    assert "两个工作日内" in page.locator("main").inner_text()
    assert_accessible(browser, page)

    clerk = new_context(browser, js=False).new_page()
    login(clerk, live.url, "clerk")
    click(clerk, "nav a[href='/desk/help']")
    assert "刘淑珍" in clerk.locator("main").inner_text()
    assert_accessible(browser, clerk)
