"""Browser walks of the three fronts in real headless Chromium, with axe-core on every page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.live import DEMO_IMPLEMENTATION, WORK_OFFICIAL, LiveServer
from tests.web.browser import assert_accessible, click, login, new_context
from tongban.identity.demo import DEMO_CITIZEN_ID

pytestmark = pytest.mark.browser

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201d6b1c3a60000000049454e44ae426082"
)


@pytest.fixture
def png_file(tmp_path: Path) -> Path:
    """A tiny valid PNG to upload as a material."""
    path = tmp_path / "id-card.png"
    path.write_bytes(PNG)
    return path


def _check_elderly_layout(page: Page) -> None:
    """Body text ≥ 20 px, line height ≥ 1.5, every button and form control ≥ 60×60 px."""
    facts: dict[str, Any] = page.evaluate(
        """() => {
        const body = getComputedStyle(document.body);
        const small = [];
        const targets = 'main button:not([hidden]), main .button, main input:not([type=hidden]),'
            + ' main select, header button, nav a';
        for (const el of document.querySelectorAll(targets)) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) continue;
            if (el.type === 'radio' || el.type === 'checkbox') continue;
            if (r.height < 59.5 || r.width < 59.5)
                small.push(el.outerHTML.slice(0, 80) + ' ' + r.width + 'x' + r.height);
        }
        return {size: parseFloat(body.fontSize), line: parseFloat(body.lineHeight), small};
    }"""
    )
    assert facts["size"] >= 20
    assert facts["line"] / facts["size"] >= 1.5
    assert facts["small"] == []


def _case_number(page: Page) -> str:
    match = re.search(r"/cases/([0-9A-Z-]+)", page.url)
    assert match, page.url
    return match.group(1)


def test_citizen_applies_online_in_elderly_mode_without_javascript(
    live: LiveServer, browser: Browser, png_file: Path
) -> None:
    context = new_context(browser, js=False)
    page = context.new_page()
    page.goto(live.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert_accessible(browser, page)
    # The prominent entry on the home page.
    click(page, "text=切换到长辈版")
    assert "elderly" in (page.locator("body").get_attribute("class") or "")
    # The read-aloud control stays hidden without JavaScript.
    assert page.locator("[data-read-aloud]").is_hidden()
    _check_elderly_layout(page)
    assert_accessible(browser, page)

    login(page, live.url, "citizen")
    page.goto(live.url + "/")
    page.fill("#f-q", "失业登记")
    click(page, "main form[role=search] button")
    assert_accessible(browser, page)
    click(page, "main .cards a >> nth=0")
    assert_accessible(browser, page)
    page.goto(f"{live.url}/guide/{DEMO_IMPLEMENTATION}")
    assert "办事指南" in page.content()
    assert_accessible(browser, page)
    _check_elderly_layout(page)
    click(page, "text=在线办理")

    # Step 1 with a mistake: the form comes back with the input kept and messages.
    page.fill("#f-form\\.residence", "四川省广安市广安区")
    page.fill("#f-form\\.unemployed_since", "")
    click(page, "button:has-text('下一步')")
    assert page.locator(".error-summary").is_visible()
    assert page.input_value("#f-form\\.residence") == "四川省广安市广安区"
    described = page.get_attribute("#f-form\\.unemployed_since", "aria-describedby") or ""
    assert "f-form.unemployed_since-error" in described
    assert "请填写此项" in page.inner_text("#f-form\\.unemployed_since-error")
    assert_accessible(browser, page)
    _check_elderly_layout(page)

    # Save and resume later.
    page.fill("#f-form\\.unemployed_since", "2026-01-05")
    click(page, "button:has-text('保存，稍后继续')")
    assert "/my/cases" in page.url
    assert_accessible(browser, page)
    click(page, "a:has-text('继续填写')")
    assert page.input_value("#f-form\\.unemployed_since") == "2026-01-05"
    click(page, "button:has-text('下一步')")

    # Step 2: upload the ID card.
    assert "/materials" in page.url
    assert_accessible(browser, page)
    page.select_option("#f-material", "居民身份证")
    page.set_input_files("#f-file", str(png_file))
    click(page, "button:has-text('上传')")
    assert "已上传" in page.content()
    click(page, "a.button:has-text('下一步')")

    # Step 3: check and send.
    assert_accessible(browser, page)
    _check_elderly_layout(page)
    click(page, "button:has-text('提交申请')")
    number = _case_number(page)
    assert "申请已提交" in page.content()
    assert_accessible(browser, page)
    page.goto(live.url + "/my/cases")
    assert number in page.content()
    assert_accessible(browser, page)
    context.close()


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_clerk_applies_for_a_citizen_and_prints_the_receipt(
    live: LiveServer, browser: Browser, png_file: Path, js: bool
) -> None:
    context = new_context(browser, js=js)
    page = context.new_page()
    login(page, live.url, "clerk")
    page.goto(live.url + "/desk")
    assert_accessible(browser, page)
    # Forgetting the ID check is caught, with the input kept.
    page.fill("#f-resident_id", DEMO_CITIZEN_ID)
    page.fill("#f-name", "王建国")
    click(page, "main button:has-text('下一步')")
    assert page.locator("#f-confirmed-error").is_visible()
    assert page.input_value("#f-resident_id") == DEMO_CITIZEN_ID
    assert_accessible(browser, page)
    page.check("#f-confirmed")
    click(page, "main button:has-text('下一步')")
    assert "/desk/service" in page.url
    page.fill("#f-q", "失业登记")
    click(page, "main form[role=search] button")
    assert_accessible(browser, page)
    click(page, f"a[href='/desk/apply/{DEMO_IMPLEMENTATION}']")
    assert_accessible(browser, page)
    page.fill("#f-form\\.residence", "四川省广安市广安区")
    page.fill("#f-form\\.unemployed_since", "2026-01-05")
    page.set_input_files("#f-file0", str(png_file))
    click(page, "button:has-text('代为提交')")
    assert "/receipt" in page.url
    content = page.content()
    # Not accepted yet: the receipt of the application (接件回执), not of acceptance.
    assert "接件回执" in content and "受理回执" not in content
    assert "1101" not in content.split("王建国")[0][-5:]
    assert "<svg" in content
    assert page.locator("[data-print]").is_visible() is js
    assert_accessible(browser, page)
    page.emulate_media(media="print")
    assert page.locator("header.top").is_hidden()
    page.emulate_media(media="screen")
    page.goto(live.url + "/desk/cases")
    assert_accessible(browser, page)
    context.close()


def _submit_as_citizen(live: LiveServer, browser: Browser, png: Path) -> str:
    context = new_context(browser, js=True)
    page = context.new_page()
    login(page, live.url, "citizen")
    page.goto(f"{live.url}/apply/{DEMO_IMPLEMENTATION}")
    page.fill("#f-form\\.residence", "广安区")
    page.fill("#f-form\\.unemployed_since", "2026-01-05")
    click(page, "button:has-text('下一步')")
    page.select_option("#f-material", "居民身份证")
    page.set_input_files("#f-file", str(png))
    click(page, "button:has-text('上传')")
    page.goto(f"{live.url}/apply/{DEMO_IMPLEMENTATION}/check")
    click(page, "button:has-text('提交申请')")
    number = _case_number(page)
    context.close()
    return number


def test_official_requests_supplement_citizen_supplies_official_approves(
    live: LiveServer, browser: Browser, png_file: Path
) -> None:
    number = _submit_as_citizen(live, browser, png_file)
    official = new_context(browser, js=True).new_page()
    login(official, live.url, WORK_OFFICIAL)
    official.goto(live.url + "/work")
    assert number in official.content()
    # Deadline marks carry text, not colour alone.
    assert official.locator("td .tag").first.inner_text().strip() != ""
    assert_accessible(browser, official)
    click(official, f"a[href='/cases/{number}']")
    assert_accessible(browser, official)
    click(official, "a[href$='/act/request-supplement']")
    click(official, "main form button.primary")  # nothing ticked: an error, not a crash
    assert official.locator("#f-items-error").is_visible()
    assert_accessible(browser, official)
    official.check("main input[value='解除或终止劳动关系证明']")
    click(official, "main form button.primary")
    assert "材料需补正" in official.content()

    citizen = new_context(browser, js=False).new_page()
    login(citizen, live.url, "citizen")
    citizen.goto(f"{live.url}/cases/{number}")
    assert "解除或终止劳动关系证明" in citizen.content()
    assert_accessible(browser, citizen)
    click(citizen, "a[href$='/act/supplement']")
    assert_accessible(browser, citizen)
    citizen.set_input_files("main input[type=file] >> nth=0", str(png_file))
    click(citizen, "main form button.primary")
    assert "补正材料已提交" in citizen.content()
    citizen.goto(live.url + "/my/messages")
    assert_accessible(browser, citizen)

    official.goto(f"{live.url}/cases/{number}")
    click(official, "a[href$='/act/accept']")
    click(official, "main form button.primary")
    click(official, "a[href$='/act/approve']")
    official.fill("#f-decision_text", "准予登记失业。")
    click(official, "main form button.primary")
    # 失业登记 is a public service (公共服务): granted (准予办理), not licensed (准予许可).
    assert "已准予办理" in official.content() and "准予许可" not in official.content()
    assert_accessible(browser, official)


def test_expired_session_returns_to_the_form_with_its_input(
    live: LiveServer, browser: Browser
) -> None:
    context = new_context(browser, js=False)
    page = context.new_page()
    login(page, live.url, "citizen")
    page.goto(f"{live.url}/apply/{DEMO_IMPLEMENTATION}")
    page.fill("#f-form\\.residence", "四川省广安市广安区协兴镇")
    page.fill("#f-form\\.unemployed_since", "2026-02-01")
    # The session ends while the form is being filled.
    cookies = [c for c in context.cookies() if c["name"] != "tb_session"]
    context.clear_cookies()
    context.add_cookies(cookies)  # type: ignore[arg-type]
    click(page, "button:has-text('下一步')")
    assert "/login" in page.url
    page.fill("#f-username", "citizen")
    page.fill("#f-password", "tongban-demo")
    click(page, "main form button")
    assert page.url.endswith(f"/apply/{DEMO_IMPLEMENTATION}")
    assert page.input_value("#f-form\\.residence") == "四川省广安市广安区协兴镇"
    assert page.input_value("#f-form\\.unemployed_since") == "2026-02-01"
    assert "已为您保留刚才填写的内容" in page.content()
    context.close()


PUBLIC_PAGES = [
    "/",
    "/search?q=sbk",
    "/search?q=",
    "/services/101110004000",
    f"/guide/{DEMO_IMPLEMENTATION}",
    "/login",
    "/register",
    "/settings",
    "/glossary",
    "/ledger/check",
    "/exchange",
    "/exchange?q=参保",
    "/no-such-page",
]
ROLE_PAGES = {
    "citizen": [
        "/my/cases",
        "/my/messages",
        "/account/proxies",
        f"/apply/{DEMO_IMPLEMENTATION}",
        f"/apply/{DEMO_IMPLEMENTATION}/materials",
        f"/apply/{DEMO_IMPLEMENTATION}/check",
    ],
    "clerk": ["/desk", "/desk/cases"],
    WORK_OFFICIAL: [
        "/work",
        "/work?state=received",
        "/work?due=week&channel=assisted&assignee=me",
        "/work?due=tomorrow&service_point=x",  # the error summary of bad filters
        "/work/rectifications",
    ],
    "admin": ["/insight", "/admin/appeals", "/admin/catalog/import"],
    "steward": ["/exchange/requests", "/exchange/agreements", "/exchange"],
}


@pytest.mark.parametrize("elderly", [False, True], ids=["standard", "elderly"])
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_page_has_no_axe_violations(
    live: LiveServer, browser: Browser, elderly: bool, locale: str
) -> None:
    context = new_context(browser, js=True, locale=locale)
    host = live.url.split("//")[1].split(":")[0]
    context.add_cookies(
        [{"name": "tb_elderly", "value": "1" if elderly else "0", "domain": host, "path": "/"}]
    )
    page = context.new_page()
    for path in PUBLIC_PAGES:
        page.goto(live.url + path)
        assert page.locator("html").get_attribute("lang") == locale
        assert page.locator("a.skip").count() == 1
        assert_accessible(browser, page)
    # Error states of forms.
    page.goto(live.url + "/register")
    page.fill("#f-resident_id", "123")
    page.fill("#f-phone", "12")
    click(page, "main form button")
    assert page.locator(".error-summary a").count() >= 3
    assert_accessible(browser, page)
    page.goto(live.url + "/login")
    page.fill("#f-username", "citizen")
    page.fill("#f-password", "wrong-password")
    click(page, "main form button")
    assert page.locator("#f-username-error").is_visible()
    assert_accessible(browser, page)
    for username, paths in ROLE_PAGES.items():
        login(page, live.url, username)
        for path in paths:
            page.goto(live.url + path)
            assert_accessible(browser, page)
        page.goto(live.url + "/")
        click(page, "nav form button")  # log out
    context.close()
