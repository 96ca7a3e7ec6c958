"""Consent in a real browser (issue #16, done-when): a department asks, the citizen grants the
request on a phone (360×640) in elderly mode without JavaScript, a fetch goes through under the
signed consent, he withdraws it, and the next fetch is refused. Headless Debian Chromium,
axe-core on each page; one live server (demo SQLite database) for this module."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from tests.exchange.conftest import World, make_case
from tests.support import identity_internals as identity
from tests.support.live import LiveServer
from tests.web.browser import assert_accessible, click, login, new_context
from tests.web.test_browser import _check_elderly_layout
from tongban.consent import consents
from tongban.consent import service as consent
from tongban.consent.schemas import ConsentIn
from tongban.events.models import Event
from tongban.exchange import fetch
from tongban.platform.db import utcnow
from tongban.platform.errors import Forbidden

pytestmark = pytest.mark.browser

FIELDS = ["holder_name", "insurance_type", "paid_months"]


def _phone_in_elderly_mode(browser: Browser, base: str) -> Page:
    page = new_context(browser, js=False).new_page()
    page.set_viewport_size({"width": 360, "height": 640})
    page.goto(base + "/")
    click(page, "text=切换到长辈版")
    return page


def _world(session: Any) -> World:
    world = World()
    for name in ("citizen", "official"):
        account = identity.find_account_by_username(session, username=name)
        assert account is not None
        world.accounts[name] = account
    world.departments["pension"] = identity.get_department_by_code(
        session, code=identity.DEMO_DEPARTMENT_CODE
    )
    return world


def _fetch(live: LiveServer, number: str) -> None:
    with live.database.session_scope() as session:
        official = identity.find_account_by_username(session, username="official")
        assert official is not None
        fetch.fetch_for_case(
            session,
            actor=identity.actor_for(official),
            case_number=number,
            resource_code="RS-YLBX-001",
            fields=FIELDS,
            purpose="核验参保缴费情况",
            settings=live.settings,
        )


def test_a_consent_granted_on_a_phone_a_fetch_under_it_revoked_then_refused(
    live: LiveServer, browser: Browser
) -> None:
    # The pension office's use of the 参保 record needs the person's consent here, and it
    # asks for it for an open case of the demo citizen.
    with live.database.session_scope() as session:
        world = _world(session)
        consent.set_requirement(
            session,
            actor=None,
            data=consent.RequirementIn(
                resource="RS-YLBX-001",
                consumer=identity.DEMO_DEPARTMENT_CODE,
                basis="浏览器测试：须经本人授权",
            ),
        )
        number = make_case(session, world).number
        official = identity.actor_for(world.accounts["official"])
        asked = consents.ask(
            session,
            actor=official,
            data=ConsentIn(
                resource="RS-YLBX-001",
                fields=FIELDS,
                purpose_code="case-handling",
                purpose_text="核验参保缴费情况，办理养老保险关系转移",
                case=number,
                valid_until=utcnow() + timedelta(days=30),
                frequency_unit="DAY",
                frequency_value=3,
            ),
            settings=live.settings,
        )
    # No consent yet: refused.
    with pytest.raises(Forbidden):
        _fetch(live, number)

    # The citizen, on his phone in elderly mode, finds the request from the menu.
    phone = _phone_in_elderly_mode(browser, live.url)
    login(phone, live.url, "citizen")
    click(phone, "nav a:has-text('我的数据授权')")
    assert "等待您答复" in phone.locator("main").inner_text()
    _check_elderly_layout(phone)
    assert_accessible(browser, phone)
    click(phone, f"main a[href='/my/consents/{asked.id}']")
    text = phone.locator("main").inner_text()
    for expected in ("广安区社会保险事业管理局", "养老保险参保缴费记录", "姓名", "累计缴费月数"):
        assert expected in text, expected
    assert number in text and "每天" in text
    _check_elderly_layout(phone)
    assert_accessible(browser, phone)
    click(phone, "main button:has-text('同意') >> nth=0")
    assert "您已同意" in phone.locator("main .notice").inner_text()
    assert "已签名的授权书" in phone.locator("main").inner_text()
    assert_accessible(browser, phone)

    # Under the consent the fetch goes through, and the use is recorded.
    _fetch(live, number)
    with live.database.session_scope() as session:
        used = session.scalars(select(Event).where(Event.action == "consent.used")).all()
        # (The demo's own use, 民政局's check under his other consent, names no case.)
        assert [e.data["consent"] for e in used if e.data.get("use_case") == number] == [asked.id]

    # He withdraws it; the next fetch is refused at once.
    click(phone, "main button:has-text('撤回我的授权')")
    assert "您的授权已撤回" in phone.locator("main .notice").inner_text()
    _check_elderly_layout(phone)
    assert_accessible(browser, phone)
    with pytest.raises(Forbidden, match="revoked"):
        _fetch(live, number)
    with live.database.session_scope() as session:
        refused = session.scalars(
            select(Event).where(Event.action == "exchange.fetch_refused").order_by(Event.id)
        ).all()
        assert refused[-1].data["refusal"] == "consent-revoked"
