"""An API token used from an address new to it is a signal (`identity.token_new_place`, the
address by its pseudonym only); at an odd hour the guard's `token.new_place_odd_hour` rule
suspends the token until an admin lifts it. And an address the guard blocked stops the
sessions already open from it, not only new logins. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.events.models import Event
from tongban.guard import service as guard_service
from tongban.guard.service import Guard
from tongban.identity import api_tokens, blocks, callers, token_places
from tongban.identity.demo import DEMO_PASSWORD
from tongban.identity.models import Account, TokenPlace
from tongban.platform.db import Database, uow


def _from(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, client=(address, 50000))


def _places(db: Session, action: str = "identity.token_new_place") -> list[Event]:
    db.expire_all()
    return list(db.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


def _set_rule(db: Session, demo: dict[str, Account], night: list[int]) -> None:
    rule = next(r for r in guard_service.list_rules(db) if r.kind == "token.new_place_odd_hour")
    guard_service.update_rule(
        db,
        kind=rule.kind,
        actor=callers.actor_for(demo["admin"]),
        enabled=True,
        severity=rule.severity,
        threshold=rule.threshold,
        window_seconds=rule.window_seconds,
        actions=list(rule.actions),
        overrides={"night": night},
    )


def test_a_token_used_from_a_new_place_at_night_is_suspended_until_an_admin_lifts_it(
    app: FastAPI, db: Session, demo: dict[str, Account], guard: Guard
) -> None:
    settings = guard.settings
    steward = demo["steward"]
    issued = api_tokens.issue_api_token(db, account_id=steward.id, name="etl", settings=settings)
    headers = {"Authorization": f"Bearer {issued.token}"}
    home, other, third = (_from(app, a) for a in ("198.51.100.7", "203.0.113.50", "192.0.2.9"))
    # The first place: noted once (the second request pays no insert, the place is known).
    for _ in range(3):
        assert home.get("/api/v1/me", headers=headers).status_code == 200
    [first] = _places(db)
    assert first.data == {"token_id": issued.row.id, "first": True}
    assert first.actor_id == steward.id and first.resource_id == str(issued.row.id)
    key = blocks.client_key(settings, "198.51.100.7")
    assert first.personal == {"client_key": key} and "198.51.100.7" not in str(first.personal)
    assert db.scalars(select(TokenPlace.client_key)).all() == [key]
    # The process cache forgotten (another process): the database answers, no second event.
    token_places.forget_known()
    assert home.get("/api/v1/me", headers=headers).status_code == 200
    assert len(_places(db)) == 1
    # A first place is where its owner set it up: no alert, day or night.
    assert guard.run_once().alerts == []

    # By day (the rule's night is an hour that is not now) a new place is noted, not alerted.
    hour = datetime.now(ZoneInfo("Asia/Shanghai")).hour
    _set_rule(db, demo, [(hour + 2) % 24, (hour + 3) % 24])
    assert third.get("/api/v1/me", headers=headers).status_code == 200
    assert [e.data["first"] for e in _places(db)] == [True, False]
    assert guard.run_once().alerts == []

    # At night (every hour is night for this test) a new place suspends the token.
    _set_rule(db, demo, [0, 24])
    assert other.get("/api/v1/me", headers=headers).status_code == 200
    assert len(guard.run_once().alerts) == 1
    admin = callers.actor_for(demo["admin"])
    [alert] = guard_service.list_alerts(db, actor=admin, kind="token.new_place_odd_hour")
    assert alert.subject == f"token:{issued.row.id}" and alert.accounts == [steward.id]
    assert alert.severity == "high" and "API token" in alert.explanation_en
    suspended = next(r for r in alert.responses if r.action == "suspend_token")
    assert suspended.outcome == "done"
    assert other.get("/api/v1/me", headers=headers).status_code == 401
    assert home.get("/api/v1/me", headers=headers).status_code == 401
    guard_service.reverse_response(db, actor=admin, response_id=suspended.id, reason="本人出差")
    assert other.get("/api/v1/me", headers=headers).status_code == 200
    reversed_ = _places(db, "guard.response_reversed")
    assert reversed_ and reversed_[-1].data["response"] == "suspend_token"


def test_a_bad_night_in_the_rule_is_refused(
    client: TestClient, db: Session, demo: dict[str, Account]
) -> None:
    r = client.post("/api/v1/auth/token", json={"username": "admin", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    rule = client.get("/api/v1/guard/rules", headers=headers).json()
    body = next(x for x in rule if x["kind"] == "token.new_place_odd_hour")
    body["overrides"] = {"night": [0, 25]}
    r = client.put("/api/v1/guard/rules/token.new_place_odd_hour", json=body, headers=headers)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


def test_a_blocked_address_stops_the_sessions_already_open_from_it(
    app: FastAPI, db: Session, demo: dict[str, Account], guard: Guard
) -> None:
    settings = guard.settings
    blocked, elsewhere = _from(app, "203.0.113.77"), _from(app, "198.51.100.20")
    tokens = {}
    for client in (blocked, elsewhere):
        r = client.post(
            "/api/v1/auth/token", json={"username": "citizen", "password": DEMO_PASSWORD}
        )
        assert r.status_code == 200
        tokens[client] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert client.get("/api/v1/me", headers=tokens[client]).status_code == 200
    database: Database = app.state.database
    with uow.unit(database) as session:
        block = blocks.place_block(
            session,
            kind=blocks.CLIENT_ADDRESS,
            key=blocks.client_key(settings, "203.0.113.77"),
            reason="guard:login.spray",
        )
    # At once in this process (the cache is dropped after the commit): the open session is
    # refused from the blocked address; the same account elsewhere goes on.
    assert blocked.get("/api/v1/me", headers=tokens[blocked]).status_code == 401
    assert elsewhere.get("/api/v1/me", headers=tokens[elsewhere]).status_code == 200
    with uow.unit(database) as session:
        blocks.lift_block(
            session, block_id=block.id, actor=callers.actor_for(demo["admin"]), reason="误报"
        )
    assert blocked.get("/api/v1/me", headers=tokens[blocked]).status_code == 200


def test_the_address_cache_reads_blocks_again_after_its_time(
    app: FastAPI, db: Session, demo: dict[str, Account], guard: Guard, monkeypatch: object
) -> None:
    """A block placed by another process (no cache drop here) takes effect within the TTL."""
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    settings = guard.settings
    client = _from(app, "203.0.113.78")
    r = client.post("/api/v1/auth/token", json={"username": "citizen", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    # Another process places the block: this one's cache is not told.
    monkeypatch.setattr(blocks, "forget_blocked_addresses", lambda: None)
    database: Database = app.state.database
    with uow.unit(database) as session:
        blocks.place_block(
            session,
            kind=blocks.CLIENT_ADDRESS,
            key=blocks.client_key(settings, "203.0.113.78"),
            reason="guard:login.spray",
        )
    monkeypatch.setattr(blocks, "BLOCKED_ADDRESSES_TTL", 0.0)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
