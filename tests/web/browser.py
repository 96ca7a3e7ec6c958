"""Playwright helpers for the browser tests: log in, fill forms, and run axe-core."""

from __future__ import annotations

import json
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page

_AXE = Axe()
# Contexts made with JavaScript disabled (axe must then run on a copy of the page).
_NO_JS: set[int] = set()


def new_context(browser: Browser, *, js: bool, locale: str = "zh-CN") -> BrowserContext:
    """A fresh browser profile (cookies empty) with JavaScript on or off."""
    context = browser.new_context(
        java_script_enabled=js,
        locale=locale,
        extra_http_headers={"Accept-Language": locale},
        viewport={"width": 412, "height": 915},
    )
    if not js:
        _NO_JS.add(id(context))
    return context


def axe_violations(browser: Browser, page: Page) -> list[dict[str, Any]]:
    """axe-core violations of the page as it is now.

    axe needs JavaScript, so the page's HTML is re-served at its own URL (so its CSS and
    same-origin rules apply) in a JavaScript-enabled context and checked there.
    """
    if id(page.context) not in _NO_JS:
        return list(_AXE.run(page).response["violations"])
    html = page.content()
    context = browser.new_context(viewport=page.viewport_size)
    try:
        checker = context.new_page()
        url = page.url
        checker.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
        checker.goto(url)
        return list(_AXE.run(checker).response["violations"])
    finally:
        context.close()


def assert_accessible(browser: Browser, page: Page) -> None:
    """Fail with a readable list when axe finds any violation."""
    violations = axe_violations(browser, page)
    assert not violations, f"{page.url}: " + json.dumps(
        [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in violations
        ],
        ensure_ascii=False,
    )


def login(page: Page, base: str, username: str, password: str = "tongban-demo") -> None:
    """Log in through the login page."""
    page.goto(f"{base}/login")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    click(page, "main form button")
    assert "/login" not in page.url, page.content()[:2000]


def click(page: Page, selector: str) -> None:
    """Click, then wait until any page the click opened has loaded.

    Playwright returns from a click once a navigation has committed; the new document may
    still be empty then, so reading it at once is a race.
    """
    page.click(selector)
    page.wait_for_load_state("load")
