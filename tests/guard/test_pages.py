"""The security console in a real headless Chromium without JavaScript, on a node whose
detector thread caught a brute-force attack: the alerts list, the alert with its evidence
and responses, the regions, the account's timeline and the rules, each axe-clean, ≤ 60 KB
gzipped, without sideways scrolling at 320 px with 200 % text; the block reversed and the
alert closed through the forms. Screenshots in /tmp/shots/guard."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.web.browser import assert_accessible, click, login, new_context

pytestmark = pytest.mark.browser

MAX_GZIPPED = 60 * 1024
SHOTS = Path("/tmp/shots/guard")
TEXT_200 = "html{font-size:200% !important}"


def _attack(node: str) -> int:
    """Guess the steward's password from 16 addresses; the alert's id once raised."""
    with httpx.Client(base_url=node) as http:
        for i in range(16):
            http.post(
                "/api/v1/auth/token",
                json={"username": "steward", "password": f"guess-{i}"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            )
        token = http.post(
            "/api/v1/auth/token", json={"username": "admin", "password": "tongban-demo"}
        ).json()["access_token"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            alerts = http.get(
                "/api/v1/guard/alerts?kind=login.bruteforce",
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            if alerts:
                return int(alerts[0]["id"])
            time.sleep(0.2)
    raise AssertionError("no alert within 20 s")


def _check(browser: Browser, page: Page, name: str) -> None:
    assert_accessible(browser, page)
    size = len(gzip.compress(page.content().encode()))
    assert size <= MAX_GZIPPED, (page.url, size)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _reflows(page: Page) -> None:
    page.add_style_tag(content=TEXT_200)
    wide = page.evaluate(
        "() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
    )
    assert wide <= 1, (page.url, wide)


def test_the_console_shows_the_alert_and_its_forms_work(node: str, browser: Browser) -> None:
    alert_id = _attack(node)
    context = new_context(browser, js=False)
    page = context.new_page()
    login(page, node, "admin")
    pages = {
        "alerts": "/guard",
        "alert": f"/guard/alerts/{alert_id}",
        "regions": "/guard/regions?level=city",
        "rules": "/guard/rules",
    }
    for name, path in pages.items():
        page.goto(node + path)
        assert page.locator("h1").count() == 1
        _check(browser, page, name)
    page.goto(node + f"/guard/alerts/{alert_id}")
    assert "暴力破解" in page.content()
    account = page.locator("a[href^='/guard/accounts/']").first.get_attribute("href")
    page.goto(node + str(account))
    assert "auth.login_failed" in page.content() or "security.block_placed" in page.content()
    _check(browser, page, "account")
    # On a phone at 200 % text: nothing scrolls sideways.
    phone = browser.new_context(
        java_script_enabled=True,  # to measure the page (the pages themselves use none)
        locale="zh-CN",
        viewport={"width": 320, "height": 640},
        bypass_csp=True,  # the 200 % text style is added to the page
    )
    small = phone.new_page()
    login(small, node, "admin")
    for name, path in {**pages, "account": str(account)}.items():
        small.goto(node + path)
        _reflows(small)
        small.screenshot(path=str(SHOTS / f"{name}-320.png"), full_page=True)
    # The operator takes the block back with a reason, then closes the alert as a true positive.
    page.goto(node + f"/guard/alerts/{alert_id}")
    page.fill("form[action^='/guard/responses/'] input[name=reason]", "本人来电，已重置密码")
    click(page, "form[action^='/guard/responses/'] button")
    assert "处置已撤销" in page.content()
    page.check("input[name=outcome][value=true_positive]")
    page.fill("#f-note", "境外地址撞库，已通知本人")
    click(page, "form[action$='/triage'] button[value=close]")
    assert "已关闭" in page.content() and "确有攻击或滥用" in page.content()
    _check(browser, page, "alert-closed")
    context.close()
    phone.close()
