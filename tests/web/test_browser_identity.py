"""A citizen who forgot their password sets a new one with a code sent by text message (issue
#13, item 6): real headless Chromium at 360×640 in elderly mode, without JavaScript, axe-core
on each page. The code is read where the node's default SMS gateway puts it: its log."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Browser, Page

from tests.support.live import LiveServer
from tests.web.browser import assert_accessible, click, login, new_context
from tests.web.test_browser import _check_elderly_layout
from tongban.identity.resident_id import make_resident_id

pytestmark = pytest.mark.browser

RESIDENT_ID = make_resident_id(region_code="511602", birth=date(1948, 2, 3), sequence=88)
PHONE = "13787654321"
OLD, NEW = "an-old-password", "a-brand-new-password"


class _Outbox(logging.Handler):
    """The texts the default gateway (adapters/sms.py: LoggingSmsGateway) writes to its log."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())


@pytest.fixture
def sms_log() -> Iterator[_Outbox]:
    logger = logging.getLogger("tongban.adapters.sms")
    handler, level = _Outbox(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _code(outbox: _Outbox) -> str:
    masked = PHONE[:3] + "****" + PHONE[-4:]
    texts = [text for text in outbox.texts if text.startswith(f"sms to {masked}:")]
    assert texts, outbox.texts
    match = re.search(r"验证码 (\d{6})", texts[-1])
    assert match, texts[-1]
    return match.group(1)


def test_forgotten_password_by_a_code_in_elderly_mode_without_javascript(
    live: LiveServer, browser: Browser, sms_log: _Outbox
) -> None:
    context = new_context(browser, js=False)
    page: Page = context.new_page()
    page.set_viewport_size({"width": 360, "height": 640})
    page.goto(live.url + "/")
    click(page, "text=切换到长辈版")

    # Registration leads to my account, which says the ID number is not verified yet.
    page.goto(live.url + "/register")
    page.fill("#f-display_name", "赵桂芳")
    page.fill("#f-resident_id", RESIDENT_ID)
    page.fill("#f-phone", PHONE)
    page.fill("#f-password", OLD)
    page.fill("#f-password_confirm", OLD)
    click(page, "main form button")
    assert page.url.endswith("/account")
    assert page.locator("main h2 .tag").inner_text() == "未核验"
    assert "带身份证到任一便民服务站" in page.locator("main").inner_text()
    _check_elderly_layout(page)
    assert_accessible(browser, page)
    click(page, "nav form button")  # log out

    # The login page leads to 忘记密码.
    page.goto(live.url + "/login")
    click(page, "text=忘记密码？")
    assert page.url.endswith("/password/forgot")
    assert_accessible(browser, page)
    page.fill("#f-username", PHONE)
    click(page, "main form button")
    assert "6 位验证码" in page.locator("main .notice").inner_text()
    assert page.locator("#f-username").input_value() == PHONE
    _check_elderly_layout(page)
    assert_accessible(browser, page)

    # A wrong code is explained; the right one sets the new password.
    code = _code(sms_log)
    page.fill("#f-code", "000000" if code != "000000" else "111111")
    page.fill("#f-new_password", NEW)
    page.fill("#f-new_password_confirm", NEW)
    click(page, "main form button")
    assert "验证码不正确或已过期" in page.locator(".error-summary").inner_text()
    assert_accessible(browser, page)
    page.fill("#f-code", code)
    page.fill("#f-new_password", NEW)
    page.fill("#f-new_password_confirm", NEW)
    click(page, "main form button")
    assert page.url.endswith("/login")
    assert "密码已修改。请用新密码登录。" in page.locator("main .notice").inner_text()

    login(page, live.url, PHONE, NEW)
    page.goto(live.url + "/account")
    assert page.locator("main h1").inner_text() == "我的账户"
    context.close()
