"""Exports as signals: the official's day-list download and the catalog export each write one
event (counts and format only), and many day lists in a short time raise `export.bulk`
through the real route; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.conftest import page_login
from tongban.catalog import service as catalog
from tongban.events.models import Event
from tongban.guard import service as guard_service
from tongban.guard.service import Guard
from tongban.identity import callers
from tongban.identity.demo import DEMO_PASSWORD
from tongban.identity.models import Account


def _browser(app: FastAPI, username: str) -> TestClient:
    return page_login(app, username, password=DEMO_PASSWORD)


def _export_bar(
    db: Session, demo: dict[str, Account], *, threshold: int, actions: list[str] | None = None
) -> None:
    """An operator sets export.bulk's bar (rows an hour), with no role's own bar."""
    rule = next(r for r in guard_service.list_rules(db) if r.kind == "export.bulk")
    guard_service.update_rule(
        db,
        kind="export.bulk",
        actor=callers.actor_for(demo["admin"]),
        enabled=True,
        severity=rule.severity,
        threshold=threshold,
        window_seconds=3600,
        actions=list(rule.actions) if actions is None else actions,
        overrides={},
    )


def _events(db: Session, action: str) -> list[Event]:
    db.expire_all()
    return list(db.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


def test_many_day_lists_in_a_short_time_raise_export_bulk(
    db: Session, app: FastAPI, demo: dict[str, Account], guard: Guard
) -> None:
    admin = callers.actor_for(demo["admin"])
    # The bar at 12 exported rows an hour (a download counts at least one), not officials' 10,000.
    _export_bar(db, demo, threshold=12, actions=["notify"])
    browser = _browser(app, "official")
    for _ in range(5):
        r = browser.get("/work/day-list.pdf")
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
    written = _events(db, "case.day_list_exported")
    assert len(written) == 5
    official = demo["official"].id
    for event in written:
        assert event.actor_id == official and event.channel == "online"
        assert set(event.data) == {"v", "rows", "format"} and event.data["format"] == "pdf"
        assert not event.personal
    # Five lists stay under the bar: nothing raised yet.
    assert guard.run_once().alerts == []
    for _ in range(7):
        assert browser.get("/work/day-list.pdf").status_code == 200
    report = guard.run_once()
    assert len(report.alerts) == 1
    [alert] = guard_service.list_alerts(db, actor=admin, kind="export.bulk")
    assert alert.subject == f"account:{official}" and alert.accounts == [official]
    assert alert.facts["count"] >= 12 and alert.facts["threshold"] == 12
    assert len(alert.evidence) == 12
    assert {r.action for r in alert.responses} == {"notify"}


def test_the_catalog_export_writes_an_event(
    db: Session, demo: dict[str, Account], tmp_path: Path
) -> None:
    catalog.export_file(db, path=tmp_path / "catalog.json")
    [event] = _events(db, "catalog.exported")
    assert event.channel == "cli" and event.actor_id is None
    assert event.data["format"] == "json" and event.data["v"] == 1
    assert event.data["rows"] == len(catalog.export_document(db)["items"]) + len(
        catalog.export_document(db)["bundles"]
    )


def test_a_catalog_export_through_a_token_above_the_bar_suspends_the_token(
    client: TestClient, db: Session, demo: dict[str, Account], guard: Guard
) -> None:
    from tongban.identity import api_tokens

    admin = callers.actor_for(demo["admin"])
    # The bar set at one row: any real export through the route crosses it.
    _export_bar(db, demo, threshold=1)
    issued = api_tokens.issue_api_token(
        db, account_id=demo["steward"].id, name="etl", settings=guard.settings
    )
    headers = {"Authorization": f"Bearer {issued.token}"}
    r = client.get("/api/v1/catalog/export", params={"format": "yaml"}, headers=headers)
    assert r.status_code == 200
    [event] = _events(db, "catalog.exported")
    assert event.channel == "api" and event.actor_id == demo["steward"].id
    assert event.data["token_id"] == issued.row.id and event.data["format"] == "yaml"
    document = catalog.export_document(db)
    assert event.data["rows"] == len(document["items"]) + len(document["bundles"])
    assert not event.personal
    assert len(guard.run_once().alerts) == 1
    [alert] = guard_service.list_alerts(db, actor=admin, kind="export.bulk")
    done = {x.action: x.outcome for x in alert.responses}
    assert done.get("suspend_token") == "done"
    # The suspended token is no caller any more.
    assert client.get("/api/v1/catalog/export", headers=headers).status_code in (401, 403)
