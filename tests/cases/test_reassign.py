"""Handing a case to a colleague (issue #14): only to an active official of the deciding
department whose jurisdiction covers the case, only by such an official, recorded as an event
whose public part names nobody, and the case then in the colleague's "handed to me" queue. On
the API (problem+json errors) and on the case page (a plain form)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.conftest import (
    DEPARTMENTS,
    PASSWORD,
    World,
    page_login,
    service_act,
    submit_pension,
)
from tests.support import identity_internals as identity
from tests.support.databases import hashing_once
from tongban.cases import assignment
from tongban.events.models import Event
from tongban.platform.config import Settings


def add_colleague(db: Session, world: World, settings: Settings, name: str = "colleague") -> Any:
    """A second official of the pension department, county-wide: eligible for its cases."""
    with hashing_once():
        account = identity.create_account(
            db,
            username=f"t-{name}",
            password=PASSWORD,
            role="official",
            display_name="王芳",
            department_code=DEPARTMENTS["pension"][0],
            region_code="511602",
            settings=settings,
        )
    world.accounts[name] = account
    world.tokens[name] = identity.issue_api_token(
        db, account_id=account.id, name="tests", settings=settings
    ).token
    return account


def assign(client: TestClient, world: World, who: str, number: str, **body: Any) -> Any:
    return client.post(f"/api/v1/cases/{number}/assignment", headers=world.h(who), json=body)


def mine(client: TestClient, world: World, who: str) -> list[str]:
    r = client.get("/api/v1/queue", headers=world.h(who), params={"assignee": "me"})
    assert r.status_code == 200, r.text
    return [c["number"] for c in r.json()["items"]]


def test_a_case_goes_to_a_colleague_and_into_their_queue(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    colleague = add_colleague(db, world, settings)
    case = submit_pension(db, world, settings)
    # Who may take it: the department's county-wide officials (the township's is outside).
    r = client.get(
        f"/api/v1/cases/{case.number}/assignment/colleagues", headers=world.h("official")
    )
    assert r.status_code == 200, r.text
    offered = {c["id"] for c in r.json()}
    assert offered == {colleague.id, world.accounts["official"].id}
    assert world.accounts["outside"].id not in offered
    assert world.accounts["other_dept"].id not in offered

    assert mine(client, world, "colleague") == []
    r = assign(client, world, "official", case.number, assignee=colleague.id, version=case.version)
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == colleague.id and r.json()["assignee_name"] == "王芳"
    assert mine(client, world, "colleague") == [case.number]
    assert mine(client, world, "official") == []
    # Everyone in the department still sees it in the department's queue.
    everyone = client.get("/api/v1/queue", headers=world.h("official")).json()["items"]
    assert [c["assignee_id"] for c in everyone if c["number"] == case.number] == [colleague.id]

    # The event: who handed it to whom is committed to, not in the public part.
    event = db.scalars(
        select(Event).where(Event.resource_id == case.number, Event.action == "case.assigned")
    ).one()
    assert set(event.data) == {"department", "handover", "version"}
    assert event.data["department"] == DEPARTMENTS["pension"][0]
    assert event.data["handover"] == "first"
    assert "王芳" not in str(event.data) and str(colleague.id) not in str(event.data.values())
    assert event.actor_id == world.accounts["official"].id

    # The colleague hands it back; the next hand-over is "again".
    version = r.json()["version"]
    back = assign(
        client,
        world,
        "colleague",
        case.number,
        assignee=world.accounts["official"].id,
        version=version,
        note="请你跟进",
    )
    assert back.status_code == 200, back.text
    assert mine(client, world, "official") == [case.number]
    assert mine(client, world, "colleague") == []


def test_only_eligible_officials_give_and_take(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    colleague = add_colleague(db, world, settings)
    case = submit_pension(db, world, settings)
    before = case.version
    # To someone who may not decide it: named, nothing changes.
    for who in ("outside", "other_dept", "migrant"):
        r = assign(client, world, "official", case.number, assignee=world.accounts[who].id)
        assert r.status_code == 422, (who, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in r.json()["errors"]] == ["assignee"]
    r = assign(client, world, "official", case.number, assignee=999_999_999)
    assert r.status_code == 422
    # By someone who may not hand it on: hidden (cannot read) or forbidden (cannot assign).
    assert (
        assign(client, world, "other_dept", case.number, assignee=colleague.id).status_code == 404
    )
    assert assign(client, world, "outside", case.number, assignee=colleague.id).status_code == 404
    assert assign(client, world, "migrant", case.number, assignee=colleague.id).status_code == 403
    assert assign(client, world, "clerk", case.number, assignee=colleague.id).status_code == 403
    assert (
        client.post(
            f"/api/v1/cases/{case.number}/assignment", json={"assignee": colleague.id}
        ).status_code
        == 401
    )
    db.expire_all()
    assert case.assignee_id is None and case.version == before
    # A stale version is refused (412); the same assignee twice is a conflict (409).
    assert (
        assign(
            client, world, "official", case.number, assignee=colleague.id, version=before + 5
        ).status_code
        == 412
    )
    assert assign(client, world, "official", case.number, assignee=colleague.id).status_code == 200
    assert assign(client, world, "official", case.number, assignee=colleague.id).status_code == 409
    # A closed case is in nobody's queue: it is not handed on.
    done = submit_pension(db, world, settings)
    service_act(db, world, settings, "official", done, "refuse", reason="不属于本机关职权范围")
    r = assign(client, world, "official", done.number, assignee=colleague.id)
    assert r.status_code == 409
    assert assignment.colleagues(db, actor=world.actor("official"), case=done) == []


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_case_page_hands_a_case_over(
    db: Session, world: World, settings: Settings, app: Any
) -> None:
    colleague = add_colleague(db, world, settings)
    case = submit_pension(db, world, settings)
    browser = page_login(app, "t-official")
    page = browser.get(f"/cases/{case.number}")
    assert page.status_code == 200
    assert 'action="/cases/' + case.number + '/assign"' in page.text
    assert f'<option value="{colleague.id}">王芳</option>' in page.text
    token = _csrf(page.text)
    # No choice: the page again with the message, nothing changed.
    r = browser.post(
        f"/cases/{case.number}/assign",
        data={"csrf_token": token, "assignee": "", "version": str(case.version)},
    )
    assert r.status_code == 422
    assert "请从列表中选择一位同事" in r.text
    db.expire_all()
    assert case.assignee_id is None
    r = browser.post(
        f"/cases/{case.number}/assign",
        data={"csrf_token": token, "assignee": str(colleague.id), "version": str(case.version)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.number}"
    page = browser.get(f"/cases/{case.number}")
    assert "办件已转交" in page.text
    assert "承办人" in page.text and "王芳" in page.text
    assert "转交同事办理" in page.text  # the timeline's line
    # The colleague's workbench: "handed to me".
    theirs = page_login(app, "t-colleague").get("/work", params={"assignee": "me"})
    assert theirs.status_code == 200 and case.number in theirs.text
    assert "转给我的" in theirs.text
    # The applicant's side sees neither the form nor who handles it.
    clerk = page_login(app, "t-clerk").get(f"/cases/{case.number}")
    assert clerk.status_code == 200
    assert "/assign" not in clerk.text and "王芳" not in clerk.text
