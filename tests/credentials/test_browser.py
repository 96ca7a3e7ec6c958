"""免证办 in a real browser: the demo citizen applies to draw his housing fund on retirement;
instead of uploading his social security card he presses 使用电子证照, sends the application
and his case shows the card as a verified e-licence, with issuer and status. Then his 卡包
shows a licence as a QR code with only the chosen field, and the public verifier page opened
by the code says it is genuine. Headless Chromium, without JavaScript, 360 px, axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from tests.support.live import LiveServer, live_server
from tests.web.browser import assert_accessible, click, login, new_context
from tests.web.test_browser import PNG, _case_number

pytestmark = pytest.mark.browser

IMPLEMENTATION = "511600-104110001000-01"  # 正常退休提取住房公积金, 广安市


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app over HTTP on the demo data (the demo citizen holds two e-licences)."""
    with live_server(tmp_path_factory.mktemp("credentials")) as server:
        yield server


def _phone(browser: Browser) -> Page:
    page = new_context(browser, js=False).new_page()
    page.set_viewport_size({"width": 360, "height": 640})
    return page


def test_an_e_licence_replaces_an_upload(
    live: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    png = tmp_path / "id-card.png"
    png.write_bytes(PNG)
    page = _phone(browser)
    login(page, live.url, "citizen")
    page.goto(f"{live.url}/apply/{IMPLEMENTATION}")
    page.fill("#f-form\\.account_no", "GA20100315")
    page.fill("#f-form\\.bank_account", "6228480000000000")
    page.fill("#f-form\\.retire_date", "2010-03-15")
    click(page, "button:has-text('下一步')")
    assert "/materials" in page.url
    page.select_option("#f-material", "居民身份证")
    page.set_input_files("#f-file", str(png))
    click(page, "button:has-text('上传')")
    # The checklist line a social security card stands in for: no upload, the e-licence.
    offer = page.locator("main button:has-text('使用电子证照')")
    assert "社会保障卡" in offer.inner_text()
    assert_accessible(browser, page)
    click(page, "main button:has-text('使用电子证照')")
    assert "已用电子证照代替" in page.locator("main").inner_text()
    page.goto(f"{live.url}/apply/{IMPLEMENTATION}/check")
    click(page, "button:has-text('提交申请')")
    number = _case_number(page)
    shown = page.locator("main").inner_text()
    assert "已核验电子证照" in shown and "广安市人力资源和社会保障局" in shown, number
    line = page.locator("main li:has-text('已核验电子证照') details")
    line.locator("summary").click()
    assert "持证主体" in line.inner_text() and "王建国" in line.inner_text()
    assert_accessible(browser, page)

    # The 卡包: one licence as a QR code with only "aged 60 or over".
    page.goto(f"{live.url}/my/credentials")
    click(page, "main a:has-text('老年人优待证')")
    for box in page.locator("main input[name=field]").all():
        box.uncheck()
    page.check("main input[value=age_over_60]")
    click(page, "main button:has-text('生成二维码')")
    assert page.locator("main .qr svg").count() == 1
    assert_accessible(browser, page)
    link = page.locator("main a[href*='/verify/s/']").get_attribute("href")
    assert link
    verifier = _phone(browser)
    verifier.goto(link)
    said = verifier.locator("main").inner_text()
    assert "真实有效" in said and "年满60周岁" in said and "王建国" not in said
    assert_accessible(browser, verifier)
