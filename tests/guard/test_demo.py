"""The guard's demo data: a fresh demo shows real alerts on the console (brute force,
spraying, an official reaching outside the jurisdiction), stops only documentation
addresses, leaves every demo account able to log in, and is loaded once."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tongban.guard import service as guard_service
from tongban.guard.demo import load_demo
from tongban.identity import callers
from tongban.identity import service as identity
from tongban.identity.demo import DEMO_PASSWORD
from tongban.identity.models import Account
from tongban.platform.config import Settings


def test_the_demo_shows_alerts_and_blocks_no_demo_account(
    app: FastAPI, client: TestClient, db: Session, demo: dict[str, Account], settings: Settings
) -> None:
    database = app.state.database
    assert load_demo(database, settings=settings) == {"guard_alerts": 3}
    admin = callers.actor_for(demo["admin"])
    alerts = guard_service.list_alerts(db, actor=admin)
    assert sorted(a.kind for a in alerts) == [
        "access.out_of_jurisdiction",
        "login.bruteforce",
        "login.spray",
    ]
    outside = next(a for a in alerts if a.kind == "access.out_of_jurisdiction")
    assert outside.accounts == [demo["official"].id]
    blocks = identity.list_blocks(db)
    assert blocks and all(b.kind == "client_address" for b in blocks)
    # Every demo account logs in (the admin here; no account is blocked at all).
    r = client.post("/api/v1/auth/token", json={"username": "admin", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert len(client.get("/api/v1/guard/alerts", headers=headers).json()) == 3
    # Loaded once.
    assert load_demo(database, settings=settings) == {"guard_alerts": 0}
