"""The stewards' page of consent requirements (issue #16), on both databases: an operator sets
one through the form (CSRF) and withdraws it with a reason; the fetch check follows at once,
the events carry codes only (the reason is private); a second withdrawal and a missing reason
are readable refusals; the API withdraws too, a citizen may not."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.consent.test_consent_pages import HTML, _browser, _csrf, seeds_by_fixture, world
from tests.exchange.conftest import World
from tongban.consent import checks
from tongban.consent.models import ConsentRequirement
from tongban.events.models import Event

__all__ = ["seeds_by_fixture", "world"]
PAGE = "/desk/consent-requirements"
PROVIDER_ITEM = "101110001000"


def _needs(db: Session) -> bool:
    return checks.needs_consent(
        db, resource_code="RS-YLBX-001", consumer_code="11511600MB01744074", item="110050001000"
    )


def test_an_operator_sets_and_withdraws_a_requirement_through_the_page(
    app: FastAPI, db: Session, world: World
) -> None:
    admin = _browser(app, "admin")
    assert not _needs(db)
    answer = admin.post(
        PAGE,
        data={
            "csrf_token": _csrf(admin, PAGE),
            "resource": "RS-YLBX-001",
            "consumer": "11511600MB01744074",
            "exempt_items": f"{PROVIDER_ITEM}, 101110002000",
            "basis": "个人账户余额属于敏感信息，民政部门使用须经本人同意",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    row = db.scalars(
        select(ConsentRequirement).where(ConsentRequirement.resource_code == "RS-YLBX-001")
    ).one()
    assert row.exempt_items == [PROVIDER_ITEM, "101110002000"] and _needs(db)
    page = admin.get(PAGE, headers=HTML).text
    assert "RS-YLBX-001" in page and f"{PAGE}/{row.id}/withdraw" in page

    # No reason: said on the page, nothing changed.
    token = _csrf(admin, PAGE)
    empty = admin.post(
        f"{PAGE}/{row.id}/withdraw", data={"csrf_token": token, "reason": " "}, headers=HTML
    )
    assert empty.status_code == 422 and "2至500字" in empty.text and _needs(db)
    done = admin.post(
        f"{PAGE}/{row.id}/withdraw",
        data={"csrf_token": token, "reason": "法规修订后不再需要本人同意"},
        headers=HTML,
        follow_redirects=False,
    )
    assert done.status_code == 303 and not _needs(db)
    event = db.scalars(select(Event).where(Event.action == "consent.requirement_withdrawn")).one()
    assert event.data == {"resource": "RS-YLBX-001", "consumer": "11511600MB01744074"}
    assert "法规修订" not in str(event.data)
    again = admin.post(
        f"{PAGE}/{row.id}/withdraw",
        data={"csrf_token": token, "reason": "再撤回一次"},
        headers=HTML,
    )
    assert again.status_code == 409 and "已经撤销" in again.text
    # Without the CSRF token nothing is done.
    forged = admin.post(PAGE, data={"resource": "RS-YLBX-001", "basis": "伪造"}, headers=HTML)
    assert forged.status_code in (400, 403)


def test_an_unknown_resource_is_said_at_its_field(app: FastAPI, world: World) -> None:
    admin = _browser(app, "admin")
    answer = admin.post(
        PAGE,
        data={"csrf_token": _csrf(admin, PAGE), "resource": "NO-SUCH-001", "basis": "测试依据"},
        headers=HTML,
    )
    assert answer.status_code == 422 and "没有这个编码的数据资源" in answer.text


def test_the_api_withdraws_a_requirement_a_citizen_may_not(
    client: TestClient, db: Session, world: World
) -> None:
    made = client.post(
        "/api/v1/consent-requirements",
        json={"resource": "RS-YLBX-001", "consumer": "11511600MB01744074", "basis": "测试依据"},
        headers=world.h("admin"),
    )
    assert made.status_code == 201, made.text
    path = f"/api/v1/consent-requirements/{made.json()['id']}/withdraw"
    refused = client.post(path, json={"reason": "不再需要"}, headers=world.h("citizen"))
    assert refused.status_code == 403
    assert _needs(db)
    done = client.post(path, json={"reason": "不再需要"}, headers=world.h("admin"))
    assert done.status_code == 204, done.text
    assert not _needs(db)
    missing = client.post(
        "/api/v1/consent-requirements/999999/withdraw",
        json={"reason": "不再需要"},
        headers=world.h("admin"),
    )
    assert missing.status_code == 404
