"""Routes that hide what one may not see answer 404, not 403 (a case of someone else, of
another jurisdiction): the refusal behind that 404 is a signal too (`auth.refused` with
`hidden`), on the API and on pages, and enough of them raise `access.out_of_jurisdiction`
and its response, which an admin reverses. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.conftest import WORLD, World, build_world, submit_pension
from tests.support.databases import Seed
from tongban.events.models import Event
from tongban.guard import service as guard_service
from tongban.guard.service import Guard
from tongban.identity import callers
from tongban.platform.config import Settings


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """A test using `world` runs over the cases' WORLD seed."""
    return {"world": WORLD}


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    """The cases' world, under the test's rolled-back transaction."""
    return build_world(db, settings)


def _refusals(db: Session) -> list[Event]:
    db.expire_all()
    return list(db.scalars(select(Event).where(Event.action == "auth.refused").order_by(Event.id)))


def test_a_hidden_case_answers_404_and_its_refusal_is_recorded(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    case = submit_pension(db, world, settings)
    db.commit()
    # Another citizen: the case does not exist for them (API and page), word for word.
    r = client.get(f"/api/v1/cases/{case.number}", headers=world.h("stranger"))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    unknown = client.get("/api/v1/cases/511602-20261130-S00000000001", headers=world.h("stranger"))
    assert unknown.status_code == 404 and unknown.json()["detail"] != ""
    page = client.get(f"/cases/{case.number}", headers=world.h("stranger", accept="text/html"))
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    found = _refusals(db)
    # The unknown number refused nothing: two refusals, both hidden, both the owner's.
    assert len(found) == 2
    for event in found:
        assert event.actor_id == world.accounts["stranger"].id
        assert event.data["hidden"] is True and event.data["action"].startswith("route.")
    # The competent official still reads it, and nothing more is recorded.
    assert (
        client.get(f"/api/v1/cases/{case.number}", headers=world.h("official")).status_code == 200
    )
    assert len(_refusals(db)) == 2


def test_hidden_refusals_outside_the_jurisdiction_raise_an_alert_and_its_lock_is_reversed(
    client: TestClient, db: Session, world: World, settings: Settings, app: object
) -> None:
    from fastapi import FastAPI

    assert isinstance(app, FastAPI)
    case = submit_pension(db, world, settings)
    admin = callers.actor_for(world.accounts["admin"])
    rule = next(r for r in guard_service.list_rules(db) if r.kind == "access.out_of_jurisdiction")
    guard_service.update_rule(
        db,
        kind=rule.kind,
        actor=admin,
        enabled=True,
        severity=rule.severity,
        threshold=rule.threshold,
        window_seconds=rule.window_seconds,
        actions=["notify", "lock_account"],
    )
    db.commit()
    guard = Guard(app.state.database, settings, anomaly=False)
    # A township official of the same department looks at a county case, again and again.
    outside = world.h("outside")
    for _ in range(rule.threshold):
        assert client.get(f"/api/v1/cases/{case.number}", headers=outside).status_code == 404
    refused = [e for e in _refusals(db) if e.actor_id == world.accounts["outside"].id]
    assert len(refused) == rule.threshold
    assert all(e.data["why"] == "jurisdiction" and e.data["hidden"] for e in refused)
    assert len(guard.run_once().alerts) == 1
    [alert] = guard_service.list_alerts(db, actor=admin, kind="access.out_of_jurisdiction")
    assert alert.accounts == [world.accounts["outside"].id]
    lock = next(r for r in alert.responses if r.action == "lock_account")
    assert lock.outcome == "done"
    # Locked pending review: its token is void; the admin lifts the lock with a reason.
    assert client.get("/api/v1/me", headers=outside).status_code == 401
    guard_service.reverse_response(db, actor=admin, response_id=lock.id, reason="已核实为误操作")
    db.commit()
    assert client.get("/api/v1/me", headers=outside).status_code == 200
