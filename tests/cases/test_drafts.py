"""Drafts on shared phones: an unfinished application is kept on the server for its account,
never in a cookie, so the next person who logs in on the same browser sees nothing of it; the
desk's applicant cookie is bound to the clerk who checked the applicant and lives briefly."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cases.conftest import MIGRANT_ID, PASSWORD, PNG_BYTES, World
from tongban.cases import clocks, drafts
from tongban.cases.models import CaseDraft
from tongban.cases.pages.common import DESK_COOKIE, DESK_MAX_AGE
from tongban.identity import keys
from tongban.platform.config import Settings

HTML = {"Accept": "text/html"}
CODE = "TEST-PENSION-511602"
# Form values nobody else may see (and that appear nowhere else on the pages).
SECRET_REASON = "随子女迁居东莞樟木头镇"
SECRET_CITY = "东莞市樟木头镇石新社区"


def _token(browser: TestClient, path: str = "/login") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(path, headers=HTML).text)
    assert match, path
    return match.group(1)


def _login(browser: TestClient, username: str) -> None:
    r = browser.post(
        "/login",
        data={"csrf_token": _token(browser), "username": username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def _logout(browser: TestClient) -> None:
    r = browser.post("/logout", data={"csrf_token": _token(browser, "/")}, follow_redirects=False)
    assert r.status_code == 303


def _save_draft(browser: TestClient) -> None:
    r = browser.post(
        f"/apply/{CODE}",
        data={
            "csrf_token": _token(browser, f"/apply/{CODE}"),
            "form.transfer_reason": SECRET_REASON,
            "form.new_city": SECRET_CITY,
            "save": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/my/cases"
    assert "tb_draft" not in r.headers.get("set-cookie", "")


def test_a_draft_is_kept_for_its_account_and_never_shown_to_the_next_person(
    app: FastAPI, db: Session, world: World
) -> None:
    browser = TestClient(app)  # one shared phone
    _login(browser, "t-migrant")
    _save_draft(browser)
    mine = browser.get("/my/cases", headers=HTML).text
    assert f'href="/apply/{CODE}"' in mine
    assert SECRET_CITY in browser.get(f"/apply/{CODE}", headers=HTML).text
    # Kept on the server, for the account: nothing of the form is in the browser.
    assert all(
        SECRET_CITY not in value and SECRET_REASON not in value
        for value in browser.cookies.values()
    )
    assert "tb_draft" not in browser.cookies
    row = db.scalar(select(CaseDraft).where(CaseDraft.account_id == world.accounts["migrant"].id))
    assert row is not None and row.implementation_code == CODE
    assert row.form_values["new_city"] == SECRET_CITY

    _logout(browser)
    assert "tb_draft" not in browser.cookies
    _login(browser, "t-stranger")
    assert f'href="/apply/{CODE}"' not in browser.get("/my/cases", headers=HTML).text
    page = browser.get(f"/apply/{CODE}", headers=HTML).text
    assert SECRET_CITY not in page and SECRET_REASON not in page

    # The owner finds it again on any device.
    elsewhere = TestClient(app)
    _login(elsewhere, "t-migrant")
    assert SECRET_CITY in elsewhere.get(f"/apply/{CODE}", headers=HTML).text


def test_the_papers_and_the_submission_go_through_the_server_side_draft(
    app: FastAPI, db: Session, world: World
) -> None:
    browser = TestClient(app)
    _login(browser, "t-migrant")
    r = browser.post(
        f"/apply/{CODE}",
        data={
            "csrf_token": _token(browser, f"/apply/{CODE}"),
            "form.transfer_reason": SECRET_REASON,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/apply/{CODE}/materials"
    token = _token(browser, f"/apply/{CODE}/materials")
    for name in ("居民身份证", "转移申请表"):
        r = browser.post(
            f"/apply/{CODE}/materials",
            data={"csrf_token": token, "material": name},
            files={"file": ("p.png", PNG_BYTES, "image/png")},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    check = browser.get(f"/apply/{CODE}/check", headers=HTML).text
    assert SECRET_REASON in check and "×" not in check
    r = browser.post(f"/apply/{CODE}/check", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/cases/"), r.text
    # Sent: the draft is gone.
    left = db.scalar(
        select(func.count())
        .select_from(CaseDraft)
        .where(CaseDraft.account_id == world.accounts["migrant"].id)
    )
    assert left == 0


def test_drafts_expire_after_30_days_and_an_account_keeps_a_few(db: Session, world: World) -> None:
    account = world.accounts["migrant"].id
    other = world.accounts["stranger"].id
    codes = ["TEST-PENSION-511602", "TEST-HUJI-440305", "TEST-FUND-440305", "TEST-BIRTH-350200"]
    for code in codes:
        drafts.save_draft(db, account_id=account, implementation_code=code, form_values={"a": code})
    drafts.save_draft(db, account_id=other, implementation_code=codes[0], form_values={"b": "x"})
    kept = [d.implementation_code for d in drafts.list_drafts(db, account_id=account)]
    assert len(kept) == drafts.DRAFT_MAX and codes[0] not in kept  # the oldest went
    assert drafts.get_draft(db, account_id=account, implementation_code=codes[0]) is None
    assert drafts.get_draft(db, account_id=other, implementation_code=codes[0]) is not None

    stale = drafts.get_draft(db, account_id=account, implementation_code=codes[1])
    assert stale is not None
    stale.updated_at = clocks.now() - timedelta(days=31)
    db.flush()
    assert drafts.get_draft(db, account_id=account, implementation_code=codes[1]) is None
    left = drafts.list_drafts(db, account_id=account)
    assert codes[1] not in [d.implementation_code for d in left]


def test_the_desk_applicant_is_bound_to_the_clerk_and_short_lived(
    app: FastAPI, world: World, settings: Settings
) -> None:
    browser = TestClient(app)  # the counter's computer
    _login(browser, "t-clerk")
    r = browser.post(
        "/desk",
        data={
            "csrf_token": _token(browser, "/desk"),
            "resident_id": MIGRANT_ID,
            "name": "李建国",
            "confirmed": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/desk/service"
    set_cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(DESK_COOKIE))
    max_age = int(re.search(r"Max-Age=(\d+)", set_cookie, re.IGNORECASE).group(1))  # type: ignore[union-attr]
    assert max_age == DESK_MAX_AGE <= 30 * 60
    assert browser.get("/desk/service", headers=HTML).status_code == 200

    # Another clerk on the same computer: the cookie is not theirs.
    _logout(browser)
    _login(browser, "t-far-clerk")
    r = browser.get("/desk/service", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/desk"
    assert MIGRANT_ID not in browser.get("/desk", headers=HTML).text
    r = browser.get(f"/desk/apply/{CODE}", headers=HTML, follow_redirects=False)
    assert r.status_code == 303

    # A sealed applicant without an account, or from before this change, counts for nobody.
    legacy = {"resident_id": MIGRANT_ID, "name": "李建国", "confirmed": True}
    import json

    browser.cookies.set(DESK_COOKIE, keys.seal(json.dumps(legacy), settings=settings))
    r = browser.get("/desk/service", headers=HTML, follow_redirects=False)
    assert r.status_code == 303


def test_a_draft_cookie_from_before_is_ignored_and_dropped(
    app: FastAPI, world: World, settings: Settings
) -> None:
    import json

    browser = TestClient(app)
    sealed = keys.seal(
        json.dumps({CODE: {"form": {"new_city": SECRET_CITY}, "typed": {}, "for": None}}),
        settings=settings,
    )
    _login(browser, "t-stranger")
    browser.cookies.set("tb_draft", sealed)
    r = browser.get(f"/apply/{CODE}", headers=HTML)
    assert SECRET_CITY not in r.text
    assert any(
        c.startswith("tb_draft=") and ("Max-Age=0" in c or "max-age=0" in c.lower())
        for c in r.headers.get_list("set-cookie")
    )
