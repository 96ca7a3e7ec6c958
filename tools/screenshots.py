"""Screenshots of the three fronts and of elderly mode for the README (docs/screenshots/).

Runs the platform on a throw-away demo database and drives Debian's chromium. For Chinese
text in the pictures the machine needs a CJK font (apt-get install fonts-noto-cjk).
Usage: .venv/bin/python tools/screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

# The live-server harness is in tests/support: run from anywhere, the repository's root first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright
from tests.support.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_IMPLEMENTATION,
    DEMO_PASSWORD,
    WORK_OFFICIAL,
    live_server,
)

from tongban.identity.demo import DEMO_CITIZEN_ID
from tongban.ledger import service as ledger

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201d6b1c3a60000000049454e44ae426082"
)


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("#f-username", username)
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("main form button")


def main() -> None:
    """Write the PNGs."""
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        live_server(Path(tmp)) as server,
        sync_playwright() as pw,
    ):
        base = server.url
        upload = Path(tmp) / "id.png"
        upload.write_bytes(PNG)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        phone = {"viewport": {"width": 412, "height": 915}, "locale": "zh-CN"}
        desk = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}

        page = browser.new_context(**phone).new_page()
        page.goto(base + "/")
        page.screenshot(path=OUT / "citizen-home.png", full_page=True)
        page.goto(f"{base}/guide/{DEMO_IMPLEMENTATION}")
        page.screenshot(path=OUT / "citizen-guide.png", full_page=True)

        elderly = browser.new_context(**phone)
        page = elderly.new_page()
        page.goto(base + "/")
        page.click("text=切换到长辈版")
        page.screenshot(path=OUT / "elderly-home.png", full_page=True)
        _login(page, base, "citizen")
        page.goto(f"{base}/apply/{DEMO_IMPLEMENTATION}")
        page.click("button:has-text('下一步')")
        page.screenshot(path=OUT / "elderly-apply-errors.png", full_page=True)

        clerk = browser.new_context(**desk).new_page()
        _login(clerk, base, "clerk")
        clerk.goto(base + "/desk")
        clerk.fill("#f-resident_id", DEMO_CITIZEN_ID)
        clerk.fill("#f-name", "王建国")
        clerk.check("#f-confirmed")
        clerk.click("main button:has-text('下一步')")
        clerk.goto(f"{base}/desk/apply/{DEMO_IMPLEMENTATION}")
        clerk.fill("#f-form\\.residence", "四川省广安市广安区")
        clerk.fill("#f-form\\.unemployed_since", "2026-01-05")
        clerk.set_input_files("#f-file0", str(upload))
        clerk.screenshot(path=OUT / "desk-apply.png", full_page=True)
        clerk.click("button:has-text('代为提交')")
        clerk.screenshot(path=OUT / "desk-receipt.png", full_page=True)
        # The applicant follows the case on a phone without an account (进度查询).
        walk_in = browser.new_context(**phone).new_page()
        walk_in.goto(base + "/")
        walk_in.click("text=切换到长辈版")
        walk_in.goto(base + "/track")
        walk_in.fill("#f-number", clerk.url.split("/cases/")[1].split("/")[0])
        walk_in.fill("#f-name", "王建国")
        walk_in.click("main form button")
        walk_in.screenshot(path=OUT / "track-elderly.png", full_page=True)

        official = browser.new_context(**desk).new_page()
        _login(official, base, WORK_OFFICIAL)
        official.goto(base + "/work")
        official.screenshot(path=OUT / "workbench-queue.png", full_page=True)
        official.click("td a >> nth=0")
        official.screenshot(path=OUT / "workbench-case.png", full_page=True)
        # The step's 存证凭据 opens a page that says in words what the ledger proves.
        official.click("main a[href^='/ledger/receipts/'] >> nth=0")
        if official.locator("h1").inner_text() == "现在无法进行此操作":
            # The integrator (a worker under `tongban serve`) has not run yet: run it now.
            with server.database.session_scope() as session:
                ledger.integrate_pending(session, settings=server.settings, full_scan=True)
            official.reload()
        official.screenshot(path=OUT / "ledger-receipt.png", full_page=True)

        # The operator's desk: the insight dashboard on a node that only just started, the
        # catalog import page, the data resource catalogue.
        admin = browser.new_context(**desk).new_page()
        _login(admin, base, "admin")
        admin.goto(base + "/insight")
        admin.screenshot(path=OUT / "insight.png", full_page=True)
        admin.goto(base + "/admin/catalog/import")
        admin.screenshot(path=OUT / "catalog-import.png", full_page=True)
        admin.goto(base + "/exchange")
        admin.screenshot(path=OUT / "exchange-catalogue.png", full_page=True)

        # The new capabilities: the assistant answering a colloquial question in elderly mode,
        # the citizen's consents, data-usage tracker and 卡包 (e-licences), the public verifier,
        # and the security console.
        elder = browser.new_context(**phone).new_page()
        elder.goto(base + "/")
        elder.click("text=切换到长辈版")
        elder.goto(base + "/assistant?q=" + "我爸90岁了，有高龄补贴吗")
        elder.screenshot(path=OUT / "assistant-elderly.png", full_page=True)
        _login(elder, base, "citizen")
        elder.goto(base + "/my/consents")
        elder.screenshot(path=OUT / "consents-elderly.png", full_page=True)
        elder.goto(base + "/my/data-usage")
        elder.screenshot(path=OUT / "data-usage-elderly.png", full_page=True)
        elder.goto(base + "/my/credentials")
        elder.screenshot(path=OUT / "credentials-wallet.png", full_page=True)
        admin.goto(base + "/verify")
        admin.screenshot(path=OUT / "credentials-verify.png", full_page=True)
        admin.goto(base + "/guard")
        admin.screenshot(path=OUT / "guard-console.png", full_page=True)

        # A phone at 320 px with text at 200 % in elderly mode: the case page reflows.
        small = browser.new_context(
            viewport={"width": 320, "height": 640}, locale="zh-CN", bypass_csp=True
        ).new_page()
        small.goto(base + "/")
        small.click("text=切换到长辈版")
        _login(small, base, "citizen")
        small.goto(base + "/my/cases")
        small.add_style_tag(content="html{font-size:200% !important}")
        small.screenshot(path=OUT / "elderly-320-200.png", full_page=True)
        small.goto(base + "/glossary")
        small.screenshot(path=OUT / "glossary.png", full_page=False)
        browser.close()
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(OUT.parents[1]))


if __name__ == "__main__":
    main()
