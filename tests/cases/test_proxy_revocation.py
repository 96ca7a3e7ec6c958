"""Authority ends with the proxy: once the principal revokes it (or it expires), the agent sees
and does nothing more on the principal's cases, including those the agent filed under it. The
principal and the officials are unaffected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.cases.conftest import World, page_login, pdf_bytes, pension_request
from tests.support import identity_internals as identity
from tongban.cases import clocks

HTML = {"Accept": "text/html"}


def _file_as_agent(client: TestClient, world: World) -> tuple[str, str, int]:
    """The relative files the migrant's pension transfer under the authorisation."""
    r = client.post(
        "/api/v1/uploads", headers=world.h("relative"), files={"file": ("f", pdf_bytes(2))}
    )
    sha = r.json()["sha256"]
    body = pension_request(
        applicant=None,
        on_behalf_of=world.accounts["migrant"].id,
        materials=[{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}],
    )
    r = client.post("/api/v1/cases", headers=world.h("relative"), json=body)
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "proxy"
    return str(r.json()["number"]), str(sha), int(r.json()["version"])


def _end_authority(db: Session, world: World, how: str) -> None:
    (proxy,) = [
        p
        for p in identity.list_proxies(db, principal_id=world.accounts["migrant"].id)
        if p.agent_id == world.accounts["relative"].id
    ]
    if how == "revoked":
        identity.revoke_proxy(db, proxy_id=proxy.id, principal_id=world.accounts["migrant"].id)
    else:
        proxy.valid_from = clocks.now() - timedelta(days=400)
        proxy.expires_at = clocks.now() - timedelta(days=1)
    db.flush()


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_the_agent_loses_the_cases_filed_under_the_proxy(
    app: FastAPI, client: TestClient, db: Session, world: World, how: str
) -> None:
    number, sha, version = _file_as_agent(client, world)
    agent = world.h("relative")
    mine = client.get("/api/v1/my/cases", headers=agent).json()["items"]
    assert number in [c["number"] for c in mine]
    assert client.get(f"/api/v1/cases/{number}", headers=agent).status_code == 200

    _end_authority(db, world, how)

    base = f"/api/v1/cases/{number}"
    assert client.get(base, headers=agent).status_code == 404
    assert client.get(f"{base}/materials/{sha}", headers=agent).status_code == 404
    assert client.get(f"{base}/receipt.pdf", headers=agent).status_code == 404
    withdraw = client.post(
        f"{base}/actions/withdraw", headers=agent, json={"version": version, "reason": "不办了"}
    )
    assert withdraw.status_code == 404
    mine = client.get("/api/v1/my/cases", headers=agent).json()["items"]
    assert number not in [c["number"] for c in mine]
    # The pages say the same.
    pages = page_login(app, "t-relative")
    assert pages.get(f"/cases/{number}", headers=HTML).status_code == 404
    assert pages.get(f"/cases/{number}/act/withdraw", headers=HTML).status_code == 404
    assert number not in pages.get("/my/cases", headers=HTML).text

    # The principal and the officials keep the case; the withdrawal above changed nothing.
    principal = client.get(base, headers=world.h("migrant"))
    assert principal.status_code == 200 and principal.json()["state"] == "received"
    assert client.get(base, headers=world.h("official")).status_code == 200
    theirs = client.get("/api/v1/my/cases", headers=world.h("migrant")).json()["items"]
    assert number in [c["number"] for c in theirs]
    r = client.post(
        f"{base}/actions/withdraw",
        headers=world.h("migrant"),
        json={"version": version, "reason": "不办了"},
    )
    assert r.status_code == 200, r.text


def test_a_new_authorisation_gives_the_cases_back(
    client: TestClient, db: Session, world: World
) -> None:
    number, _sha, _version = _file_as_agent(client, world)
    _end_authority(db, world, "revoked")
    assert client.get(f"/api/v1/cases/{number}", headers=world.h("relative")).status_code == 404
    for scope in (["TEST-HUJI-PROOF"], ["TEST-PENSION-TRANSFER"]):
        identity.grant_accepted_proxy(
            db,
            principal_id=world.accounts["migrant"].id,
            agent_id=world.accounts["relative"].id,
            relation="child",
            scope=scope,
        )
        db.flush()
        if scope == ["TEST-HUJI-PROOF"]:  # another item's authorisation covers nothing here
            r = client.get(f"/api/v1/cases/{number}", headers=world.h("relative"))
            assert r.status_code == 404
            mine = client.get("/api/v1/my/cases", headers=world.h("relative")).json()["items"]
            assert number not in [c["number"] for c in mine]
    assert client.get(f"/api/v1/cases/{number}", headers=world.h("relative")).status_code == 200
    mine = client.get("/api/v1/my/cases", headers=world.h("relative")).json()["items"]
    assert number in [c["number"] for c in mine]
