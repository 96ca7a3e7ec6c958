"""A colloquial question to a pre-filled application, in a real headless Chromium without
JavaScript, at 360×640 in elderly mode: the portal home links the assistant, the question is
asked back (which case of 户口迁移), the answer names the materials of the place, and 马上申请
opens the application form with what was said already filled in. axe-core on each page,
each ≤ 60 KB gzipped, elderly sizes checked; screenshots in /tmp/shots/helper-assistant."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from tests.support.live import LiveServer, live_server
from tests.web.browser import assert_accessible, click, login, new_context
from tests.web.test_browser import _check_elderly_layout

pytestmark = pytest.mark.browser

MAX_GZIPPED = 60 * 1024
SHOTS = Path("/tmp/shots/helper-assistant")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app served over HTTP on 127.0.0.1 with the demo data (stopped after the module)."""
    with live_server(tmp_path_factory.mktemp("assistant")) as server:
        yield server


def _check(browser: Browser, page: Page, name: str) -> None:
    assert_accessible(browser, page)
    size = len(gzip.compress(page.content().encode()))
    assert size <= MAX_GZIPPED, (page.url, size)
    _check_elderly_layout(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_from_a_colloquial_question_to_a_prefilled_application(
    live: LiveServer, browser: Browser
) -> None:
    context = new_context(browser, js=False)
    page = context.new_page()
    page.set_viewport_size({"width": 360, "height": 640})
    login(page, live.url, "citizen")
    page.goto(live.url + "/")
    click(page, "text=切换到长辈版")
    click(page, "text=不知道事项叫什么？用自己的话问问智能客服")
    assert page.locator("h1").inner_text() == "问问智能客服"
    page.fill("#f-q", "我老婆在深圳南山上班，想把户口迁过去")
    click(page, "main form.chat-form button:has-text('发送')")
    answer = page.locator("#answer").inner_text()
    assert "户口迁移（夫妻投靠）" in answer
    assert "要带的材料" in answer and "南山" in answer
    _check(browser, page, "answer-phone-elderly")
    click(page, "#answer a:has-text('马上申请')")
    assert "/apply/440305-103070003004-01" in page.url
    assert page.locator("input[name='form.destination_address']").input_value() == "深圳市南山区"
    _check(browser, page, "apply-prefilled-phone-elderly")
    # An ambiguous question: one short question back, answered with a button.
    page.goto(live.url + "/assistant")
    page.fill("#f-q", "公基金咋取")
    click(page, "main form.chat-form button:has-text('发送')")
    assert "您提取公积金是为了什么？" in page.locator("#answer").inner_text()
    _check(browser, page, "ask-back-phone-elderly")
    click(page, "#answer button:has-text('退休了')")
    shown = page.locator("main").inner_text()
    assert "公基金咋取" in shown and "正常退休提取住房公积金" in shown
    _check(browser, page, "after-choice-phone-elderly")
    context.close()
