"""新生儿出生一件事 on a phone (issue #13, item 2): found by search, its guide, one form for
seven services of four departments, filed as a parent case with a sub-case each; then each
department completes its part and the bundle shows completed. Real headless Chromium at
360×640 in elderly mode, without JavaScript, axe-core on each page, each ≤ 60 KB gzipped."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.support.live import LiveServer
from tests.web.browser import assert_accessible, click, new_context
from tests.web.test_browser import PNG, _check_elderly_layout

pytestmark = pytest.mark.browser

MAX_GZIPPED = 60 * 1024
SHOTS = Path("/tmp/shots/helper-bundle")


def _check(browser: Browser, page: Page, name: str) -> None:
    """axe-clean, small, elderly sizes; a screenshot to look at."""
    assert_accessible(browser, page)
    size = len(gzip.compress(page.content().encode()))
    assert size <= MAX_GZIPPED, (page.url, size)
    _check_elderly_layout(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _fill_everything(page: Page, paper: Path) -> None:
    """Every field of the form, by its type; a photo for every paper."""
    for field in page.locator("main input[name^='form.']").all():
        kind = field.get_attribute("type")
        name = field.get_attribute("name") or ""
        if kind == "date" or "date" in name:
            field.fill("2026-04-01")
        elif field.get_attribute("inputmode") == "decimal":
            field.fill("1")
        else:
            field.fill("厦门市思明区")
    for select in page.locator("main select[name^='form.']").all():
        options = [o.get_attribute("value") for o in select.locator("option").all()]
        select.select_option(next(v for v in options if v))
    for upload in page.locator("main input[type=file]").all():
        upload.set_input_files(str(paper))


def _officials_complete(live: LiveServer, number: str) -> None:
    """Each sub-case's department accepts, approves and completes it through the API."""
    from tests.support import identity_internals as identity

    client = httpx.Client(base_url=live.url, timeout=30)
    tokens: dict[int, str] = {}
    with live.database.session_scope() as session:
        owner = identity.find_account_by_username(session, username="citizen")
        assert owner is not None
        citizen_token = identity.issue_api_token(
            session, account_id=owner.id, name="bundle walk", settings=live.settings
        ).token
    parent = client.get(
        f"/api/v1/cases/{number}", headers={"Authorization": f"Bearer {citizen_token}"}
    ).json()
    for sub in parent["sub_cases"]:
        with live.database.session_scope() as session:
            dept = identity.get_department_by_code(
                session,
                code=client.get(
                    f"/api/v1/catalog/implementations/{sub['implementation_code']}"
                ).json()["authority_code"],
            )
            if dept.id not in tokens:
                account = identity.create_account(
                    session,
                    username=f"bundle-official-{dept.id}",
                    password="tongban-demo-official",
                    role="official",
                    department_code=dept.code,
                    region_code=sub["authority_region"],
                    display_name="审批员",
                    settings=live.settings,
                )
                tokens[dept.id] = identity.issue_api_token(
                    session, account_id=account.id, name="bundle walk", settings=live.settings
                ).token
        headers = {"Authorization": f"Bearer {tokens[dept.id]}"}
        for action, body in (
            ("accept", {}),
            ("approve", {"decision_text": "准予"}),
            ("complete", {}),
        ):
            case = client.get(f"/api/v1/cases/{sub['number']}", headers=headers).json()
            r = client.post(
                f"/api/v1/cases/{sub['number']}/actions/{action}",
                headers=headers,
                json={"version": case["version"], **body},
            )
            assert r.status_code == 200, r.text


def test_the_newborn_bundle_from_search_to_filed_and_completed(
    live: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    paper = tmp_path / "papers.png"
    paper.write_bytes(PNG)
    context = new_context(browser, js=False)
    page = context.new_page()
    page.set_viewport_size({"width": 360, "height": 640})
    page.goto(live.url + "/")
    click(page, "text=切换到长辈版")
    # The home page names the node's bundles.
    assert "一件事一次办" in page.locator("main").inner_text()
    page.fill("#f-q", "新生儿出生")
    click(page, "main button:has-text('搜索')")
    first = page.locator("main ul.cards a").first
    assert first.inner_text() == "新生儿出生一件事"
    _check(browser, page, "search-phone-elderly")
    click(page, "main ul.cards a >> nth=0")
    assert page.locator("h1").inner_text() == "新生儿出生一件事"
    guide = page.locator("main").inner_text()
    for name in ("出生医学证明", "出生登记", "社会保障卡申领", "厦门市公安局"):
        assert name in guide or "杭州" in guide or "兰州" in guide
    _check(browser, page, "guide-phone-elderly")
    # Anonymous: 开始办理 asks to log in, then comes back to the form.
    click(page, "main a.button:has-text('开始办理') >> nth=0")
    assert "/login" in page.url
    page.fill("#f-username", "citizen")
    page.fill("#f-password", "tongban-demo")
    click(page, "main form button")
    assert re.search(r"/bundles/BUNDLE-NEWBORN-\d+/apply", page.url), page.url
    html = page.content()
    assert html.count('name="form.baby_name"') == 1
    assert "共同信息" in page.locator("main").inner_text()
    _check(browser, page, "apply-phone-elderly")

    # Sent empty: each message on the page, nothing filed.
    click(page, "main button:has-text('提交申请')")
    assert page.locator(".error-summary").count() == 1
    _check(browser, page, "apply-errors-phone-elderly")

    _fill_everything(page, paper)
    click(page, "main button:has-text('提交申请')")
    found = re.search(r"/cases/([0-9A-Z-]+)", page.url)
    assert found and page.locator(".error-summary").count() == 0, page.url
    number = found.group(1)
    main = page.locator("main").inner_text()
    assert "本次申请包括的事项" in main and "办理机关" not in main
    subs = page.locator("main ol.cards li")
    assert subs.count() == 7
    assert all(f"{number}-0{i}" in main for i in range(1, 8))
    _check(browser, page, "case-phone-elderly")
    page.goto(f"{live.url}/cases/{number}/receipt")
    assert f"{number}-07" in page.locator("main").inner_text()
    _check(browser, page, "receipt-phone-elderly")

    # Each department completes its part: the bundle is completed.
    _officials_complete(live, number)
    page.goto(f"{live.url}/cases/{number}")
    assert page.locator("main p strong").first.inner_text() == "已办结"
    assert page.locator("main ol.cards li:has-text('已办结')").count() == 7
    _check(browser, page, "case-completed-phone-elderly")
    context.close()
