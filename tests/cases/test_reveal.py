"""The applicant's full resident ID: for the deciding officials only, each look recorded."""

from __future__ import annotations

import re
from datetime import date

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.cases.conftest import MIGRANT_ID, PNG_BYTES, World, page_login, pension_request
from tests.support import identity_internals as identity

HTML = {"Accept": "text/html"}


def _file(client: TestClient, world: World, **applicant: object) -> str:
    sha = client.post(
        "/api/v1/uploads", headers=world.h("clerk"), files={"file": ("id.png", PNG_BYTES)}
    ).json()["sha256"]
    body = pension_request(
        materials=[{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}]
    )
    if applicant:
        body["applicant"] = {**body["applicant"], **applicant}
    r = client.post("/api/v1/cases", headers=world.h("clerk"), json=body)
    assert r.status_code == 201, r.text
    assert "*" in r.json()["applicant_id_masked"]
    return str(r.json()["number"])


def test_the_deciding_official_sees_the_full_number_and_the_applicant_sees_the_look(
    client: TestClient, world: World
) -> None:
    number = _file(client, world)
    url = f"/api/v1/cases/{number}/applicant-id"
    r = client.post(url, headers=world.h("official"), json={"purpose": "核对社保缴费记录"})
    assert r.status_code == 200, r.text
    assert r.json() == {"resident_id": MIGRANT_ID, "name": "李建国"}
    assert r.headers["cache-control"] == "no-store"
    timeline = client.get(f"/api/v1/cases/{number}", headers=world.h("migrant")).json()["timeline"]
    look = timeline[-1]
    assert look["action"] == "case.applicant_id_viewed"
    assert look["reason"] == "核对社保缴费记录" and look["actor_role"] == "official"
    assert look["ledger_receipt"].endswith(look["uid"])


def test_nobody_else_sees_it_and_a_purpose_is_required(client: TestClient, world: World) -> None:
    number = _file(client, world)
    url = f"/api/v1/cases/{number}/applicant-id"
    for who in ("migrant", "relative", "clerk", "other_dept", "outside", "steward", "admin"):
        r = client.post(url, headers=world.h(who), json={"purpose": "想看看"})
        assert r.status_code in (403, 404), (who, r.status_code)
    assert client.post(url, json={"purpose": "想看看"}).status_code == 401
    missing = client.post(url, headers=world.h("official"), json={})
    assert missing.status_code == 422
    assert missing.headers["content-type"].startswith("application/problem+json")
    blank = client.post(url, headers=world.h("official"), json={"purpose": "  x "})
    assert blank.status_code == 422
    timeline = client.get(f"/api/v1/cases/{number}", headers=world.h("migrant")).json()["timeline"]
    assert all(e["action"] != "case.applicant_id_viewed" for e in timeline)


def test_an_applicant_without_an_account_has_the_number_filed_at_the_counter(
    client: TestClient, world: World
) -> None:
    newcomer = identity.make_resident_id(region_code="511602", birth=date(1950, 2, 3), sequence=9)
    number = _file(client, world, resident_id=newcomer, name="王秀英")
    r = client.post(
        f"/api/v1/cases/{number}/applicant-id",
        headers=world.h("official"),
        json={"purpose": "核对户籍"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"resident_id": newcomer, "name": "王秀英"}


def test_the_workbench_page_shows_the_number_for_a_stated_purpose(
    app: FastAPI, client: TestClient, world: World
) -> None:
    number = _file(client, world)
    official = page_login(app, "t-official")
    case_page = official.get(f"/cases/{number}", headers=HTML).text
    assert f'href="/cases/{number}/applicant-id"' in case_page
    assert MIGRANT_ID not in case_page
    form = official.get(f"/cases/{number}/applicant-id", headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert form.status_code == 200 and token
    empty = official.post(
        f"/cases/{number}/applicant-id",
        data={"csrf_token": token.group(1), "purpose": " "},
        headers=HTML,
    )
    assert empty.status_code == 422 and MIGRANT_ID not in empty.text
    shown = official.post(
        f"/cases/{number}/applicant-id",
        data={"csrf_token": token.group(1), "purpose": "核对养老保险缴费记录"},
        headers=HTML,
    )
    assert shown.status_code == 200 and MIGRANT_ID in shown.text
    assert shown.headers["cache-control"] == "no-store"

    applicant = page_login(app, "t-migrant")
    own_page = applicant.get(f"/cases/{number}", headers=HTML).text
    assert "/applicant-id" not in own_page
    assert applicant.get(f"/cases/{number}/applicant-id", headers=HTML).status_code == 403


def test_an_action_form_without_a_valid_version_is_answered_as_stale(
    app: FastAPI, client: TestClient, world: World
) -> None:
    """A tampered or truncated form (no version, letters, a number past BIGINT) is a 412 page."""
    number = _file(client, world)
    official = page_login(app, "t-official")
    form = official.get(f"/cases/{number}/act/accept", headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert form.status_code == 200 and token
    for version in ("", "abc", "０１", str(2**63), "0"):
        r = official.post(
            f"/cases/{number}/act/accept",
            data={"csrf_token": token.group(1), "version": version},
            headers=HTML,
        )
        assert r.status_code == 412, (version, r.status_code)
        assert "text/html" in r.headers["content-type"]
    accepted = official.post(
        f"/cases/{number}/act/accept",
        data={"csrf_token": token.group(1), "version": "1"},
        headers=HTML,
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    assert client.get(f"/api/v1/cases/{number}", headers=world.h("official")).json()["state"] == (
        "accepted"
    )
