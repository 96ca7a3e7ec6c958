"""A walk-in applicant follows their case on a phone without an account, then finds it under
我的办件 once they have registered and a clerk has verified their identity (issue #13, item 4):
real headless Chromium at 360×640 in elderly mode, without JavaScript, axe-core on each page."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.live import DEMO_IMPLEMENTATION, LiveServer
from tests.web.browser import assert_accessible, click, login, new_context
from tests.web.test_browser import PNG, _check_elderly_layout
from tongban.identity.resident_id import make_resident_id

pytestmark = pytest.mark.browser

WALK_IN_ID = make_resident_id(region_code="511602", birth=date(1951, 9, 12), sequence=77)
WALK_IN_NAME = "陈秀英"
WALK_IN_PHONE = "13712345678"
SHOTS = Path("/tmp/shots/helper-track")


def _phone_page(context: BrowserContext) -> Page:
    """A page at a small phone's size (360×640)."""
    page = context.new_page()
    page.set_viewport_size({"width": 360, "height": 640})
    return page


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _file_at_the_counter(live: LiveServer, browser: Browser, tmp_path: Path) -> tuple[str, str]:
    """The clerk files 失业登记 for the walk-in; the case number and the receipt's QR link."""
    paper = tmp_path / "id-card.png"
    paper.write_bytes(PNG)
    context = new_context(browser, js=False)
    page = context.new_page()
    login(page, live.url, "clerk")
    page.goto(live.url + "/desk")
    page.fill("#f-resident_id", WALK_IN_ID)
    page.fill("#f-name", WALK_IN_NAME)
    page.fill("#f-phone", WALK_IN_PHONE)
    page.check("#f-confirmed")
    click(page, "main button:has-text('下一步')")
    page.goto(f"{live.url}/desk/apply/{DEMO_IMPLEMENTATION}")
    page.fill("#f-form\\.residence", "四川省广安市广安区")
    page.fill("#f-form\\.unemployed_since", "2026-01-05")
    page.set_input_files("#f-file0", str(paper))
    click(page, "button:has-text('代为提交')")
    found = re.search(r"/cases/([0-9A-Z-]+)/receipt", page.url)
    assert found, page.url
    link = re.search(r"(http://127\.0\.0\.1:\d+/track/t/[0-9A-Za-z._-]+)", page.content())
    assert link, page.content()[:3000]
    context.close()
    return found.group(1), link.group(1)


def test_a_walk_in_follows_the_case_by_number_and_name_then_finds_it_after_verification(
    live: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    number, qr_link = _file_at_the_counter(live, browser, tmp_path)

    # On the phone, in elderly mode, without an account.
    context = new_context(browser, js=False)
    page = _phone_page(context)
    page.goto(live.url + "/")
    click(page, "text=切换到长辈版")
    click(page, "nav a[href='/track']")
    assert page.locator("h1").inner_text() == "查询办件进度"
    _check_elderly_layout(page)
    assert_accessible(browser, page)
    # A wrong name: the same message as for a number that does not exist.
    page.fill("#f-number", number)
    page.fill("#f-name", "陈秀")
    click(page, "main form button")
    assert "没有找到与此编号和姓名相符的办件" in page.inner_text(".error-summary")
    assert page.input_value("#f-number") == number
    assert_accessible(browser, page)
    _shot(page, "browser-track-no-match-360-elderly")
    page.fill("#f-name", "陈 秀英")
    click(page, "main form button")
    main = page.inner_text("main")
    assert number in main and "已接件，等待受理" in main and "收到申请" in main
    assert WALK_IN_NAME not in main and "clerk" not in main
    _check_elderly_layout(page)
    assert_accessible(browser, page)
    _shot(page, "browser-track-result-360-elderly")
    # The receipt's QR code opens the same view without the name.
    page.goto(qr_link)
    assert "已接件，等待受理" in page.inner_text("main")
    assert_accessible(browser, page)

    # The walk-in registers with the same number: a claim, which shows nothing yet.
    page.goto(live.url + "/register")
    page.fill("#f-display_name", WALK_IN_NAME)
    page.fill("#f-resident_id", WALK_IN_ID)
    page.fill("#f-phone", WALK_IN_PHONE)
    page.fill("#f-password", "a-long-password-1")
    page.fill("#f-password_confirm", "a-long-password-1")
    click(page, "main form button")
    assert "/register" not in page.url, page.inner_text("main")[:500]
    page.goto(live.url + "/my/cases")
    assert number not in page.inner_text("main")
    me = page.request.get(live.url + "/api/v1/me").json()
    assert me["identity"]["status"] == "claimed"

    # The clerk checks the ID card at the counter and verifies the identity.
    clerk = new_context(browser, js=True)
    desk = clerk.new_page()
    login(desk, live.url, "clerk")
    verified = desk.request.post(
        f"{live.url}/api/v1/accounts/{me['id']}/verify-identity",
        data={"resident_id": WALK_IN_ID, "confirmed": True},
        headers={"Origin": live.url},
    )
    assert verified.status == 200, verified.text()
    clerk.close()

    # Now the case is under 我的办件, and it opens.
    page.reload()
    assert number in page.inner_text("main")
    _check_elderly_layout(page)
    assert_accessible(browser, page)
    _shot(page, "browser-my-cases-linked-360-elderly")
    click(page, f"main a[href='/cases/{number}']")
    assert f"/cases/{number}" in page.url and "已接件，等待受理" in page.inner_text("main")
    assert_accessible(browser, page)
    context.close()
