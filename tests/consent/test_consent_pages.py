"""The consent pages without a browser, on both databases: the citizen answers through the
forms (CSRF), an agent outside their scope gets a readable refusal (its event kept, nothing
else changed), the clerk records a paper consent with its scan, the department sees its
requests."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.conftest import PNG_BYTES
from tests.exchange.conftest import WORLD, World, make_case
from tests.exchange.conftest import _build as build_world
from tests.support import identity_internals as identity
from tests.support.databases import Seed, hashing_once, seeded_with
from tongban.consent import consents
from tongban.consent import service as consent
from tongban.consent.models import Consent
from tongban.consent.schemas import ConsentIn
from tongban.events.models import Event
from tongban.exchange import service as exchange
from tongban.platform.config import Settings
from tongban.platform.db import utcnow

HTML = {"Accept": "text/html"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
STRANGER_ID = identity.make_resident_id(region_code="511602", birth=date(1958, 8, 8), sequence=17)

consent.on_describe_resource(exchange.consent_terms)


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """A test using `world` runs over the exchange's world seed."""
    return {"world": WORLD}


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    """The exchange's world (demo accounts, resources, records, the pension agreement)."""
    recorded = seeded_with(db, WORLD)
    if recorded is not None:
        return World.reload(db, recorded)
    with hashing_once():
        return build_world(db, settings)


def _browser(app: FastAPI, username: str) -> TestClient:
    browser = TestClient(app)
    token = TOKEN.search(browser.get("/login", headers=HTML).text)
    assert token
    answer = browser.post(
        "/login",
        data={"csrf_token": token.group(1), "username": username, "password": "tongban-demo"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    return browser


def _csrf(browser: TestClient, path: str) -> str:
    found = TOKEN.search(browser.get(path, headers=HTML).text)
    assert found, path
    return found.group(1)


def _ask(db: Session, world: World, settings: Settings, **data: object) -> str:
    request = ConsentIn.model_validate(
        {
            "resource": "MZ-HYDJ-001",
            "fields": ["holder_name", "marital_status"],
            "purpose_code": "benefit-eligibility",
            "purpose_text": "核实婚姻状况，办理养老保险待遇",
            "valid_until": utcnow() + timedelta(days=60),
            **data,
        }
    )
    return consents.ask(db, actor=world.actor("official"), data=request, settings=settings).id


def test_the_citizen_answers_through_the_forms(
    app: FastAPI, db: Session, world: World, settings: Settings
) -> None:
    case = make_case(db, world)
    uid = _ask(db, world, settings, case=case.number)
    citizen = _browser(app, "citizen")
    listed = citizen.get("/my/consents", headers=HTML)
    assert listed.status_code == 200
    assert f"/my/consents/{uid}" in listed.text and "婚姻登记信息" in listed.text
    page = citizen.get(f"/my/consents/{uid}", headers=HTML)
    assert "姓名、婚姻状况" in page.text and "广安市民政局" in page.text
    assert f'action="/my/consents/{uid}/grant"' in page.text
    assert f'action="/my/consents/{uid}/refuse"' in page.text
    # The relative's proxy is narrowed to another item: her answer is refused, readably.
    proxy = db.scalar(
        select(identity.ProxyAuthorisation).where(
            identity.ProxyAuthorisation.agent_id == world.accounts["relative"].id
        )
    )
    assert proxy is not None
    proxy.all_items = False
    proxy.item_codes = ["101110002000"]
    db.flush()
    relative = _browser(app, "relative")
    refused = relative.post(
        f"/my/consents/{uid}/grant",
        data={"csrf_token": _csrf(relative, "/my/consents")},
        headers=HTML,
    )
    assert refused.status_code == 403
    assert "只有本人" in refused.text or "Only the person concerned" in refused.text
    attempts = db.scalars(select(Event).where(Event.action == "consent.decision_refused")).all()
    assert [e.data["attempt"] for e in attempts] == ["grant"]
    row = db.scalar(select(Consent).where(Consent.uid == uid))
    assert row is not None and row.status == "requested"
    # Without the CSRF token nothing happens.
    forged = citizen.post(f"/my/consents/{uid}/grant", headers=HTML, follow_redirects=False)
    assert forged.status_code == 403
    db.refresh(row)
    assert row.status == "requested"
    granted = citizen.post(
        f"/my/consents/{uid}/grant",
        data={"csrf_token": _csrf(citizen, f"/my/consents/{uid}")},
        headers=HTML,
        follow_redirects=False,
    )
    assert granted.status_code == 303 and granted.headers["location"] == f"/my/consents/{uid}"
    shown = citizen.get(f"/my/consents/{uid}", headers=HTML).text
    assert "撤回我的授权" in shown and row.uid in shown
    db.refresh(row)
    assert row.status == "granted" and row.signature
    revoked = citizen.post(
        f"/my/consents/{uid}/revoke",
        data={"csrf_token": _csrf(citizen, f"/my/consents/{uid}")},
        headers=HTML,
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    db.refresh(row)
    assert row.status == "revoked"
    # The department sees its request and its state.
    official = _browser(app, "official")
    mine = official.get("/consents", headers=HTML)
    assert mine.status_code == 200 and "婚姻登记信息" in mine.text and "5116" in mine.text


def test_the_clerk_records_a_paper_consent(
    app: FastAPI, db: Session, world: World, settings: Settings
) -> None:
    uid = _ask(db, world, settings, item="101110001000", subject_resident_id=STRANGER_ID)
    clerk = _browser(app, "clerk")
    token = _csrf(clerk, "/desk/consents")
    found = clerk.post(
        "/desk/consents", data={"csrf_token": token, "resident_id": STRANGER_ID}, headers=HTML
    )
    assert found.status_code == 200 and f"/desk/consents/{uid}/record" in found.text
    wrong = clerk.post(
        "/desk/consents", data={"csrf_token": token, "resident_id": "123"}, headers=HTML
    )
    assert wrong.status_code == 422
    missing = clerk.post(
        f"/desk/consents/{uid}/record",
        data={"csrf_token": token, "resident_id": STRANGER_ID},
        headers=HTML,
    )
    assert missing.status_code == 422 and "PDF" in missing.text
    recorded = clerk.post(
        f"/desk/consents/{uid}/record",
        data={"csrf_token": token, "resident_id": STRANGER_ID},
        files={"file": ("signed.png", PNG_BYTES, "image/png")},
        headers=HTML,
        follow_redirects=False,
    )
    assert recorded.status_code == 303, recorded.text[:800]
    row = db.scalar(select(Consent).where(Consent.uid == uid))
    assert row is not None and row.status == "granted" and row.decided_via == "counter"
    assert (settings.data_dir / "blobs").exists()
    event = db.scalars(select(Event).where(Event.action == "consent.granted")).one()
    assert event.channel == "assisted" and event.data["via"] == "counter"
