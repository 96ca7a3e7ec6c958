"""A proxy authorisation takes effect only when its agent accepts it (issue #13, item 7): on the
pages the principal grants, the agent sees the request and accepts or declines; before that the
agent can file nothing; the case page then says who filed it, for whom."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.cases.conftest import World, page_login, pdf_bytes, pension_request

HTML = {"Accept": "text/html"}


def _csrf(browser: TestClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(path, headers=HTML).text)
    assert found
    return found.group(1)


def _words(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def _file_for_migrant(client: TestClient, world: World) -> TestClient:
    sha = client.post(
        "/api/v1/uploads", headers=world.h("stranger"), files={"file": ("f", pdf_bytes(1))}
    ).json()["sha256"]
    body = pension_request(
        applicant=None,
        on_behalf_of=world.accounts["migrant"].id,
        materials=[{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}],
    )
    return client.post("/api/v1/cases", headers=world.h("stranger"), json=body)


def test_a_grant_on_the_pages_waits_for_the_agent(
    app: FastAPI, client: TestClient, world: World
) -> None:
    principal = page_login(app, "t-migrant")
    granted = principal.post(
        "/account/proxies",
        data={
            "csrf_token": _csrf(principal, "/account/proxies"),
            "agent": "t-stranger",
            "relation": "sibling",
            "expires_at": "",
        },
        follow_redirects=True,
        headers=HTML,
    )
    assert granted.status_code == 200
    assert "对方确认接受后生效" in granted.text and "等待对方确认" in granted.text

    # Not accepted yet: the agent can file nothing for the principal.
    refused = _file_for_migrant(client, world)
    assert refused.status_code == 403 and "not accepted" in refused.json()["detail"]

    agent = page_login(app, "t-stranger")
    page = agent.get("/account/proxies", headers=HTML).text
    assert "李建国 请您为其代办" in page
    proxy_id = re.search(r'action="/account/proxies/(\d+)/confirm"', page)
    assert proxy_id
    accepted = agent.post(
        f"/account/proxies/{proxy_id.group(1)}/confirm",
        data={"csrf_token": _csrf(agent, "/account/proxies")},
        follow_redirects=True,
        headers=HTML,
    )
    assert "您已接受授权" in accepted.text

    filed = _file_for_migrant(client, world)
    assert filed.status_code == 201, filed.text
    case_page = principal.get(f"/cases/{filed.json()['number']}", headers=HTML).text
    assert "stranger（申请人授权的亲友）代为提交" in case_page

    # The agent gives it up: no more filing.
    agent.post(
        f"/account/proxies/{proxy_id.group(1)}/decline",
        data={"csrf_token": _csrf(agent, "/account/proxies")},
        headers=HTML,
    )
    assert _file_for_migrant(client, world).status_code == 403


def test_only_the_agent_answers_on_the_pages(app: FastAPI, world: World) -> None:
    # The demo-style grant of the world: the relative holds the migrant's authorisation.
    principal = page_login(app, "t-migrant")
    page = principal.get("/account/proxies", headers=HTML).text
    proxy_id = re.search(r'action="/account/proxies/(\d+)/revoke"', page)
    assert proxy_id
    r = principal.post(
        f"/account/proxies/{proxy_id.group(1)}/decline",
        data={"csrf_token": _csrf(principal, "/account/proxies")},
        headers=HTML,
    )
    assert r.status_code == 404


def test_an_authorisation_for_one_service_from_its_page(
    app: FastAPI, client: TestClient, world: World
) -> None:
    principal = page_login(app, "t-migrant")
    item_page = principal.get("/services/TEST-PENSION-TRANSFER", headers=HTML).text
    assert 'href="/account/proxies?item=TEST-PENSION-TRANSFER"' in item_page
    form_page = principal.get("/account/proxies?item=TEST-PENSION-TRANSFER", headers=HTML).text
    assert "只限：企业职工基本养老保险关系转移接续" in form_page
    fields = {
        "csrf_token": _csrf(principal, "/account/proxies"),
        "agent": "t-stranger",
        "relation": "sibling",
        "expires_at": "",
        "scope": "item",
    }
    # A service that does not exist is refused with a message, and nothing is granted.
    unknown = principal.post("/account/proxies", data={**fields, "item": "NO-SUCH"}, headers=HTML)
    assert unknown.status_code == 422 and "找不到这个事项" in unknown.text
    granted = principal.post(
        "/account/proxies",
        data={**fields, "item": "TEST-PENSION-TRANSFER"},
        headers=HTML,
        follow_redirects=True,
    )
    assert "只限： 企业职工基本养老保险关系转移接续" in _words(granted.text)

    agent = page_login(app, "t-stranger")
    page = agent.get("/account/proxies", headers=HTML).text
    proxy_id = re.search(r'action="/account/proxies/(\d+)/confirm"', page)
    assert proxy_id and "只限： 企业职工基本养老保险关系转移接续" in _words(page)
    agent.post(
        f"/account/proxies/{proxy_id.group(1)}/confirm",
        data={"csrf_token": _csrf(agent, "/account/proxies")},
        headers=HTML,
    )
    assert _file_for_migrant(client, world).status_code == 201  # the pension transfer: covered
    other = pension_request(
        implementation="TEST-HUJI-440305", applicant=None, on_behalf_of=world.accounts["migrant"].id
    )
    other["form"] = {}
    refused = client.post("/api/v1/cases", headers=world.h("stranger"), json=other)
    assert refused.status_code == 403 and "does not cover" in refused.json()["detail"]
