"""A case the caller may not read does not exist for them: 404, the same answer as an unknown
number, on the API and the pages, for reads and for actions. Someone who may read the case but
not take the action gets 403."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.cases.conftest import PNG_BYTES, World, page_login, pension_request

HTML = {"Accept": "text/html"}
UNKNOWN = "440300-20260101-0000000000ZZ"
# Who may not read the clerk's case for the migrant: other citizens (one with an expired
# authorisation), a clerk of another point, officials of another department or township,
# and the roles that read no cases.
HIDDEN_FROM = ("stranger", "lapsed", "far_clerk", "other_dept", "outside", "steward", "admin")


def _file(client: TestClient, world: World) -> tuple[str, str]:
    sha = client.post(
        "/api/v1/uploads", headers=world.h("clerk"), files={"file": ("id.png", PNG_BYTES)}
    ).json()["sha256"]
    body = pension_request(
        materials=[{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}]
    )
    r = client.post("/api/v1/cases", headers=world.h("clerk"), json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["number"]), str(sha)


def _requests(number: str, sha: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/api/v1/cases/{number}"
    return [
        ("GET", base, None),
        ("GET", f"{base}/materials/{sha}", None),
        ("GET", f"{base}/receipt.pdf", None),
        ("POST", f"{base}/applicant-id", {"purpose": "想看看"}),
        ("POST", f"{base}/actions/accept", {"version": 1}),
        ("POST", f"{base}/actions/withdraw", {"version": 1, "reason": "不办了"}),
        ("POST", f"{base}/materials", {"version": 1, "note": "补交"}),
    ]


def _problem(r: Any, number: str) -> tuple[int, str, str]:
    body = r.json()
    return r.status_code, body["title"], body["detail"].replace(number, "N")


def test_a_hidden_case_answers_like_an_unknown_number_on_the_api(
    client: TestClient, world: World
) -> None:
    number, sha = _file(client, world)
    for who in HIDDEN_FROM:
        for (method, url, body), (_, unknown_url, _) in zip(
            _requests(number, sha), _requests(UNKNOWN, sha), strict=True
        ):
            r = client.request(method, url, headers=world.h(who), json=body)
            unknown = client.request(method, unknown_url, headers=world.h(who), json=body)
            assert r.status_code == 404, (who, method, url, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert _problem(r, number) == _problem(unknown, UNKNOWN), (who, url)
    # Nothing was done on the case.
    case = client.get(f"/api/v1/cases/{number}", headers=world.h("official")).json()
    assert case["state"] == "received" and case["version"] == 1


def test_a_party_who_may_read_but_not_act_gets_403(client: TestClient, world: World) -> None:
    number, _sha = _file(client, world)
    url = f"/api/v1/cases/{number}/actions/"
    r = client.post(url + "approve", headers=world.h("migrant"), json={"version": 1})
    assert r.status_code == 403 and "citizen" in r.json()["detail"]
    r = client.post(url + "withdraw", headers=world.h("official"), json={"version": 1})
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/cases/{number}/applicant-id",
        headers=world.h("migrant"),
        json={"purpose": "想看看"},
    )
    assert r.status_code == 403
    # The readers still read.
    for who in ("migrant", "relative", "clerk", "official"):
        assert client.get(f"/api/v1/cases/{number}", headers=world.h(who)).status_code == 200


def test_officials_do_not_see_a_bundle_only_its_parts(client: TestClient, world: World) -> None:
    sha = client.post(
        "/api/v1/uploads", headers=world.h("migrant"), files={"file": ("id.png", PNG_BYTES)}
    ).json()["sha256"]
    body = {"bundle": "BUNDLE-NEWBORN-TEST", "materials": [{"name": "父母身份证", "sha256": sha}]}
    r = client.post("/api/v1/cases", headers=world.h("migrant"), json=body)
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    r = client.get(f"/api/v1/cases/{number}", headers=world.h("birth_official"))
    assert r.status_code == 404
    r = client.post(
        f"/api/v1/cases/{number}/actions/accept",
        headers=world.h("birth_official"),
        json={"version": 1},
    )
    assert r.status_code == 404


def test_a_hidden_case_answers_404_on_the_pages(
    app: FastAPI, client: TestClient, world: World
) -> None:
    number, _sha = _file(client, world)
    stranger = page_login(app, "t-stranger")
    html = stranger.get("/login", headers=HTML).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    for case in (number, UNKNOWN):
        for path in ("", "/receipt", "/act/withdraw", "/applicant-id"):
            r = stranger.get(f"/cases/{case}{path}", headers=HTML)
            assert r.status_code == 404, (path, r.status_code)
        r = stranger.post(
            f"/cases/{case}/act/withdraw",
            data={"csrf_token": token.group(1), "version": "1", "reason": "不办了"},
            headers=HTML,
        )
        assert r.status_code == 404, r.status_code
    # The applicant may read the case but not approve it: 403.
    migrant = page_login(app, "t-migrant")
    assert migrant.get(f"/cases/{number}/act/approve", headers=HTML).status_code == 403
