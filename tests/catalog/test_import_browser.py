"""The catalog import page in headless Chromium, without JavaScript: an operator downloads the
sample, uploads a workbook with a mistake and reads it in Chinese with sheet, row and column,
then uploads the sample and sees what an import would do. axe-clean; at 320 px with 200 % text
in elderly mode nothing scrolls sideways. Screenshots go to TONGBAN_IMPORT_SHOTS when set."""

from __future__ import annotations

import io
import os
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Page

from tests.support.live import LiveServer
from tests.web.browser import assert_accessible, click, login, new_context
from tests.web.conftest import live  # noqa: F401 (fixture; `browser` is the suite's)

pytestmark = pytest.mark.browser

PAGE = "/admin/catalog/import"
TEXT_200 = "html{font-size:200% !important}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SIZES = {"phone": (360, 640), "desktop": (1280, 800)}


def _wrong(content: bytes) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(content))
    items = book["事项"]
    items.cell(row=2, column=[c.value for c in items[1]].index("事项类型") + 1, value="许可")
    impls = book["实施清单"]
    impls.cell(row=2, column=[c.value for c in impls[1]].index("承诺办结时限") + 1, value="十天")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(page: Page, content: bytes, button: str) -> None:
    page.set_input_files(
        "#f-file", files=[{"name": "目录.xlsx", "mimeType": XLSX, "buffer": content}]
    )
    click(page, f"main form button:has-text('{button}')")


def _reflow(chromium: Browser, page: Page, name: str) -> None:
    """The page as it is now, at 320 px with 200 % text: nothing may scroll sideways. The page
    runs without JavaScript; measuring needs it, so its HTML is re-served in a context with
    JavaScript (and the CSP bypassed for the text-size style), as the axe check does."""
    html, url = page.content(), page.url
    context = chromium.new_context(bypass_csp=True, viewport={"width": 320, "height": 640})
    try:
        copy = context.new_page()
        copy.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
        copy.goto(url)
        copy.add_style_tag(content=TEXT_200)
        wider = copy.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert wider <= 0, f"{name}: {wider} px sideways"
        _shoot(copy, name)
    finally:
        context.close()


def _shoot(page: Page, name: str) -> None:
    shots = os.environ.get("TONGBAN_IMPORT_SHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{shots}/{name}.png", full_page=True)


@pytest.mark.parametrize("elderly", [False, True], ids=["standard", "elderly"])
def test_operator_checks_and_reads_problems_without_javascript(
    live: LiveServer,  # noqa: F811
    browser: Browser,
    elderly: bool,
) -> None:
    context = new_context(browser, js=False)
    host = live.url.split("//")[1].split(":")[0]
    context.add_cookies(
        [{"name": "tb_elderly", "value": "1" if elderly else "0", "domain": host, "path": "/"}]
    )
    page = context.new_page()
    login(page, live.url, "admin")
    page.goto(live.url + PAGE)
    assert page.locator("h1").inner_text() == "导入事项目录"
    assert_accessible(browser, page)
    sample = page.request.get(live.url + f"{PAGE}/sample.xlsx")
    assert sample.ok and sample.headers["content-type"] == XLSX
    mode = "elderly" if elderly else "standard"

    _upload(page, _wrong(sample.body()), "检查并导入")
    problems = page.locator(".problems li")
    assert problems.count() == 2
    text = page.locator(".problems").inner_text()
    assert "工作表“事项”第 2 行，“事项类型”列" in text
    assert "工作表“实施清单”第 2 行，“承诺办结时限”列" in text and "“十天”不是整数" in text
    assert_accessible(browser, page)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        _shoot(page, f"problems-{mode}-{size}")
    _reflow(browser, page, f"problems-{mode}-320-text200")

    page.set_viewport_size({"width": 412, "height": 915})
    page.goto(live.url + PAGE)
    _upload(page, sample.body(), "只检查")
    assert "工作簿检查无误" in page.locator("main").inner_text()
    assert_accessible(browser, page)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        _shoot(page, f"checked-{mode}-{size}")
    _reflow(browser, page, f"checked-{mode}-320-text200")
    page.goto(live.url + PAGE)
    _reflow(browser, page, f"form-{mode}-320-text200")
    context.close()
