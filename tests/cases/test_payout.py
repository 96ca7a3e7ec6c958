"""A payout account given by an agent waits for the applicant's own confirmation (issue #13,
item 7): the relative files the migrant's pension transfer naming a bank account; the case is
received but cannot be accepted until the migrant confirms it on their case page; nobody else
can confirm it; without a payout account nothing is held."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.cases.conftest import World, page_login, pdf_bytes, pension_request

HTML = {"Accept": "text/html"}
ACCOUNT = "6222020200112233445"


def _file(client: TestClient, world: World, form: dict[str, str]) -> dict[str, object]:
    sha = client.post(
        "/api/v1/uploads", headers=world.h("relative"), files={"file": ("f", pdf_bytes(1))}
    ).json()["sha256"]
    body = pension_request(
        applicant=None,
        on_behalf_of=world.accounts["migrant"].id,
        form=form,
        materials=[{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}],
    )
    r = client.post("/api/v1/cases", headers=world.h("relative"), json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_the_case_waits_for_the_applicant_to_confirm_the_account(
    app: FastAPI, client: TestClient, world: World
) -> None:
    case = _file(client, world, {"transfer_reason": "跨省就业", "bank_account": ACCOUNT})
    number = case["number"]
    assert case["payout_pending"] is True and "accept" not in case["actions"]
    accept = client.post(
        f"/api/v1/cases/{number}/actions/accept",
        headers=world.h("official"),
        json={"version": case["version"]},
    )
    assert accept.status_code == 409 and "payout account" in accept.json()["detail"]
    # The agent cannot confirm it, nor can the official; an API token never decides it.
    for who in ("relative", "official", "migrant"):
        r = client.post(f"/api/v1/cases/{number}/confirm-payout", headers=world.h(who))
        assert r.status_code == 403, (who, r.text)

    official_page = page_login(app, "t-official").get(f"/cases/{number}", headers=HTML).text
    assert "申请人本人确认" in official_page
    migrant = page_login(app, "t-migrant")
    page = migrant.get(f"/cases/{number}", headers=HTML).text
    assert ACCOUNT in page and "/confirm-payout" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    done = migrant.post(
        f"/cases/{number}/confirm-payout",
        data={"csrf_token": token.group(1)},
        headers=HTML,
        follow_redirects=True,
    )
    assert done.status_code == 200 and "收款账号已确认" in done.text
    after = client.get(f"/api/v1/cases/{number}", headers=world.h("official")).json()
    assert after["payout_pending"] is False and "accept" in after["actions"]
    accepted = client.post(
        f"/api/v1/cases/{number}/actions/accept",
        headers=world.h("official"),
        json={"version": after["version"]},
    )
    assert accepted.status_code == 200, accepted.text
    timeline = [e["action"] for e in accepted.json()["timeline"]]
    assert "case.payout_confirmed" in timeline


def test_nothing_is_held_without_a_payout_account(client: TestClient, world: World) -> None:
    case = _file(client, world, {"transfer_reason": "跨省就业"})
    assert case["payout_pending"] is False and "accept" in case["actions"]
