"""补正 (一次性告知) in real headless Chromium, on a phone (360×640), without JavaScript, in
elderly mode: the official ticks a checklist line and names an extra item, each with a note;
the applicant answers the two lines in two rounds; the request clears after the second."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.cases.conftest import pdf_bytes
from tests.support.live import WORK_OFFICIAL, LiveServer
from tests.web.browser import assert_accessible, click, login, new_context
from tests.web.test_browser import _check_elderly_layout, _submit_as_citizen, png_file

pytestmark = pytest.mark.browser
__all__ = ["png_file"]  # the fixture, shared with test_browser.py

PHONE = {"width": 360, "height": 640}


def _phone_elderly(browser: Browser, live: LiveServer, username: str) -> Page:
    """A phone without JavaScript, in elderly mode, logged in."""
    page = new_context(browser, js=False).new_page()
    page.set_viewport_size(PHONE)
    page.goto(live.url + "/")
    click(page, "text=切换到长辈版")
    login(page, live.url, username)
    assert "elderly" in (page.locator("body").get_attribute("class") or "")
    return page


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


def test_request_two_items_and_answer_them_in_two_rounds_on_a_phone(
    live: LiveServer, browser: Browser, png_file: Path, tmp_path: Path
) -> None:
    number = _submit_as_citizen(live, browser, png_file)

    official = _phone_elderly(browser, live, WORK_OFFICIAL)
    official.goto(f"{live.url}/cases/{number}")
    click(official, "a[href$='/act/request-supplement']")
    assert_accessible(browser, official)
    _check_elderly_layout(official)
    _no_sideways_scroll(official)
    click(official, "main form button.primary")  # nothing ticked: a message, nothing sent
    assert official.locator("#f-items-error").is_visible()
    assert_accessible(browser, official)
    box = official.locator("main input[value='解除或终止劳动关系证明']")
    box.check()
    line = str(box.get_attribute("name")).split("-")[1]
    official.fill(f"#f-pick_note-{line}", "原单位出具的证明，需加盖公章")
    official.fill("#f-extra-1", "户口簿")
    official.fill("#f-extra_note-1", "户主页和本人页")
    click(official, "main form button.primary")
    page = official.content()
    assert "户口簿" in page and "户主页和本人页" in page and "待补正" in page

    citizen = _phone_elderly(browser, live, "citizen")
    citizen.goto(f"{live.url}/cases/{number}")
    page = citizen.content()
    assert "原单位出具的证明，需加盖公章" in page and "户主页和本人页" in page
    assert_accessible(browser, citizen)
    click(citizen, "a[href$='/act/supplement']")
    assert_accessible(browser, citizen)
    _check_elderly_layout(citizen)
    _no_sideways_scroll(citizen)
    assert citizen.locator("main input[type=file]").count() == 2
    # Round 1: two files for the checklist line.
    second = tmp_path / "second.pdf"
    second.write_bytes(pdf_bytes(2))
    citizen.set_input_files("main input[type=file] >> nth=0", [str(png_file), str(second)])
    click(citizen, "main form button.primary")
    page = citizen.content()
    assert "所有项目都答复后" in page  # saved; the clock waits for the other line
    assert "已提交" in page and "待补正" in page
    # Round 2: the extra item.
    click(citizen, "a[href$='/act/supplement']")
    citizen.set_input_files("main input[type=file] >> nth=1", str(png_file))
    click(citizen, "main form button.primary")
    assert "补正材料已提交，办理时限恢复计算。" in citizen.content()
    assert "待补正" not in citizen.content()
    assert_accessible(browser, citizen)

    # The clock runs again: the official can accept the case now.
    official.goto(f"{live.url}/cases/{number}")
    assert official.locator("a[href$='/act/accept']").count() == 1
    assert official.locator("a[href$='/act/review-supplement']").count() == 0
