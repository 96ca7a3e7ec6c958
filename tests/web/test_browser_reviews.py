"""好差评 and results in real headless Chromium: a phone (360×640) in elderly mode rates a
completed case with one tap, the bad rating opens a rectification the official sees on the
workbench and marks fixed, and the applicant sees the outcome. Every page is axe-clean and
at most 60 KB gzipped."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.cases.conftest import pdf_bytes
from tests.support.live import DEMO_IMPLEMENTATION, WORK_OFFICIAL, LiveServer
from tests.web.browser import assert_accessible, click, login
from tests.web.test_browser import PNG, _case_number, _check_elderly_layout

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
MAX_GZIPPED = 60 * 1024


def _phone(browser: Browser, live: LiveServer, *, js: bool = False) -> BrowserContext:
    """A phone in elderly mode (JavaScript off unless asked: nothing here needs it)."""
    context = browser.new_context(
        java_script_enabled=js,
        locale="zh-CN",
        extra_http_headers={"Accept-Language": "zh-CN"},
        viewport=PHONE,
    )
    if not js:
        from tests.web import browser as helpers

        helpers._NO_JS.add(id(context))
    host = live.url.split("//")[1].split(":")[0]
    context.add_cookies([{"name": "tb_elderly", "value": "1", "domain": host, "path": "/"}])
    return context


def _check(browser: Browser, page: Page) -> None:
    """axe-clean, small, and the elderly layout's sizes."""
    assert_accessible(browser, page)
    size = len(gzip.compress(page.content().encode()))
    assert size <= MAX_GZIPPED, (page.url, size)
    _check_elderly_layout(page)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A photo to apply with and a decision document (PDF) to attach."""
    png = tmp_path / "id-card.png"
    png.write_bytes(PNG)
    pdf = tmp_path / "decision.pdf"
    pdf.write_bytes(pdf_bytes(1))
    return {"png": png, "pdf": pdf}


def _apply(page: Page, live: LiveServer, png: Path) -> str:
    page.goto(f"{live.url}/apply/{DEMO_IMPLEMENTATION}")
    page.fill("#f-form\\.residence", "广安区")
    page.fill("#f-form\\.unemployed_since", "2026-01-05")
    click(page, "button:has-text('下一步')")
    page.select_option("#f-material", "居民身份证")
    page.set_input_files("#f-file", str(png))
    click(page, "button:has-text('上传')")
    page.goto(f"{live.url}/apply/{DEMO_IMPLEMENTATION}/check")
    click(page, "button:has-text('提交申请')")
    return _case_number(page)


def _act(page: Page, live: LiveServer, number: str, action: str) -> None:
    page.goto(f"{live.url}/cases/{number}/act/{action}")
    click(page, "main form button.primary, main form button.warning")


def test_a_bad_rating_is_rectified_and_the_applicant_sees_the_outcome(
    live: LiveServer, browser: Browser, files: dict[str, Path]
) -> None:
    citizen_context = _phone(browser, live)
    citizen = citizen_context.new_page()
    login(citizen, live.url, "citizen")
    number = _apply(citizen, live, files["png"])

    official_context = _phone(browser, live)
    official = official_context.new_page()
    login(official, live.url, WORK_OFFICIAL)
    _act(official, live, number, "accept")
    # The decision with its document: the form takes a PDF or OFD file.
    official.goto(f"{live.url}/cases/{number}/act/approve")
    _check(browser, official)
    official.fill("#f-decision_text", "准予登记失业。")
    official.set_input_files("#f-result_file", str(files["png"]))  # a photo: refused
    click(official, "main form button.primary")
    assert official.locator("#f-result_file-error").is_visible()
    _check(browser, official)
    official.fill("#f-decision_text", "准予登记失业。")
    official.set_input_files("#f-result_file", str(files["pdf"]))
    click(official, "main form button.primary")
    assert f"/cases/{number}" in official.url
    _act(official, live, number, "complete")

    # The applicant: the receipt says 受理回执 now, the decision document, then the rating.
    citizen.goto(f"{live.url}/cases/{number}/receipt")
    assert "受理回执" in citizen.content()
    citizen.goto(f"{live.url}/cases/{number}")
    assert citizen.locator(f"a[href='/api/v1/cases/{number}/result-document']").count() == 1
    _check(browser, citizen)
    click(citizen, f"a[href='/cases/{number}/rating']")
    _check(browser, citizen)
    click(citizen, "main form button.primary")  # no face chosen: a message, nothing sent
    assert citizen.locator("#f-overall-error").is_visible()
    _check(browser, citizen)
    face = citizen.locator("label[for='f-overall-1']")
    box = face.bounding_box()
    assert box is not None and box["height"] >= 60 and box["width"] >= 200  # one big target
    face.click()  # one tap: 非常不满意
    citizen.click("details.more summary")  # tell more (optional)
    citizen.fill("#f-comment", "网上说的材料和窗口要的不一样")
    click(citizen, "main form button.primary")
    assert "谢谢您！评价已记录。" in citizen.content() and "待回访" in citizen.content()
    _check(browser, citizen)

    # The official's workbench lists the task; follow up, then mark it fixed.
    official.goto(f"{live.url}/work")
    click(official, "a[href='/work/rectifications']")
    assert number in official.content() and "待回访" in official.content()
    _check(browser, official)
    official.locator("main ul.tasks a", has_text=number).click()
    official.wait_for_load_state("load")
    assert "网上说的材料和窗口要的不一样" in official.content()
    _check(browser, official)
    click(official, "main form[action$='/follow-up'] button.primary")  # empty: a message
    assert official.locator("#f-note-error").is_visible()
    _check(browser, official)
    official.fill("#f-note", "电话回访，申请人说明了材料清单不一致的情况")
    click(official, "main form[action$='/follow-up'] button.primary")
    official.fill("#f-description", "已统一网上和窗口的材料清单")
    _check(browser, official)
    click(official, "main form[action$='/fix'] button.primary")
    assert "整改情况已记录" in official.content()
    _check(browser, official)

    # The applicant sees the outcome: on the case page, the rating page and in messages.
    citizen.goto(f"{live.url}/cases/{number}")
    content = citizen.content()
    assert "您的差评已回访并整改" in content and "已统一网上和窗口的材料清单" in content
    citizen.goto(f"{live.url}/cases/{number}/rating")
    assert "已整改" in citizen.content()
    _check(browser, citizen)
    citizen.goto(f"{live.url}/my/messages")
    assert "已统一网上和窗口的材料清单" in citizen.content()
    citizen_context.close()
    official_context.close()


def test_the_desk_records_a_rating_and_operators_see_appeals(
    live: LiveServer, browser: Browser, files: dict[str, Path]
) -> None:
    from tongban.identity.demo import DEMO_CITIZEN_ID

    context = _phone(browser, live)
    page = context.new_page()
    login(page, live.url, "clerk")
    page.goto(live.url + "/desk")
    page.fill("#f-resident_id", DEMO_CITIZEN_ID)
    page.fill("#f-name", "王建国")
    page.check("#f-confirmed")
    click(page, "main button:has-text('下一步')")
    page.goto(f"{live.url}/desk/apply/{DEMO_IMPLEMENTATION}")
    page.fill("#f-form\\.residence", "四川省广安市广安区")
    page.fill("#f-form\\.unemployed_since", "2026-01-05")
    page.set_input_files("#f-file0", str(files["png"]))
    click(page, "button:has-text('代为提交')")
    assert "接件回执" in page.content()
    click(page, "a[href$='/rating']")
    _check(browser, page)
    page.locator("label[for='f-overall-5']").click()
    page.click("details.more summary")
    page.locator("label[for='f-attitude-5']").click()
    click(page, "main form button.primary")
    assert page.url.endswith("/desk/cases") and "已记录申请人对本次服务的评价" in page.content()
    context.close()

    context = _phone(browser, live)
    page = context.new_page()
    login(page, live.url, "admin")
    click(page, "nav summary")  # the administrator's later entries fold under 更多
    click(page, "nav a[href='/admin/appeals']")
    _check(browser, page)
    context.close()
