"""Each insider rule driven to an alert by the signals the domains write, answered by the
response its rule names (rules are data: a test sets them as an operator would), and the
response reversed by an admin with a reason; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.guard.conftest import Attempt
from tongban.events import service as events
from tongban.events.models import Event
from tongban.guard import service as guard_service
from tongban.guard.service import Guard
from tongban.identity import callers
from tongban.identity.demo import DEMO_PASSWORD
from tongban.identity.models import Account
from tongban.identity.policy import Refused, authorize


def _admin(demo: dict[str, Account]) -> callers.Actor:
    return callers.actor_for(demo["admin"])


def _set_actions(db: Session, demo: dict[str, Account], kind: str, actions: list[str]) -> None:
    rule = next(r for r in guard_service.list_rules(db) if r.kind == kind)
    guard_service.update_rule(
        db,
        kind=kind,
        actor=_admin(demo),
        enabled=True,
        severity=rule.severity,
        threshold=rule.threshold,
        window_seconds=rule.window_seconds,
        actions=actions,
    )


def _record(db: Session, account: Account, action: str, n: int, **fields: Any) -> None:
    for i in range(n):
        events.record(
            db,
            action=action,
            actor_id=account.id,
            actor_role=account.role,
            channel="online",
            **{"resource_type": "case", "resource_id": f"511602-20261130-S{i:011d}", **fields},
        )


def _only_alert(db: Session, demo: dict[str, Account], kind: str) -> guard_service.AlertView:
    found = guard_service.list_alerts(db, actor=_admin(demo), kind=kind)
    assert len(found) == 1, [a.kind for a in found]
    return found[0]


def _reverse_lock(
    db: Session,
    demo: dict[str, Account],
    alert: guard_service.AlertView,
    attempt: Attempt,
    who: str,
) -> None:
    """The lock refuses the owner's login; the admin lifts it with a reason; the login works."""
    lock = next(r for r in alert.responses if r.action == "lock_account")
    assert lock.outcome == "done" and lock.block_id is not None
    assert attempt(who, DEMO_PASSWORD, "198.51.100.77") == "locked"
    guard_service.reverse_response(
        db, actor=_admin(demo), response_id=lock.id, reason="已核实为正常办件"
    )
    assert attempt(who, DEMO_PASSWORD, "198.51.100.77") == "ok"


def test_bulk_reveals_far_above_the_baseline_lock_the_account_until_reviewed(
    db: Session, demo: dict[str, Account], guard: Guard, attempt: Attempt
) -> None:
    _set_actions(db, demo, "identity.bulk_reveal", ["notify", "lock_account"])
    official = demo["official"]
    # A few looks at applicants' IDs while deciding is normal work: nothing.
    _record(db, official, "case.applicant_id_viewed", 5, data={"department": "x"})
    assert guard.run_once().alerts == []
    # Forty full-ID reveals and file openings within the hour: far above own and peers' rate.
    _record(db, official, "case.applicant_id_viewed", 20, data={"department": "x"})
    _record(db, official, "case.material_viewed", 20, data={"department": "x"})
    assert len(guard.run_once().alerts) == 1
    alert = _only_alert(db, demo, "identity.bulk_reveal")
    assert alert.accounts == [official.id] and alert.facts["count"] >= 30
    assert "身份证号" in alert.explanation_zh and "resident IDs" in alert.explanation_en
    _reverse_lock(db, demo, alert, attempt, "official")


def test_attempts_outside_the_jurisdiction_are_recorded_even_when_refused(
    client: TestClient, db: Session, demo: dict[str, Account], guard: Guard, attempt: Attempt
) -> None:
    """The refusal comes from authorize() itself; the shell's error handler records it in a
    unit of work of its own, so the refused request's rollback does not take it away."""
    _set_actions(db, demo, "access.out_of_jurisdiction", ["notify", "lock_account"])
    official = callers.actor_for(demo["official"])
    # Through HTTP: a steward's token asking for the operators' alerts, refused by role.
    token = client.post(
        "/api/v1/auth/token", json={"username": "steward", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    r = client.get("/api/v1/guard/alerts", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    db.expire_all()
    refused = db.scalars(select(Event).where(Event.action == "auth.refused")).all()
    assert [e.data["why"] for e in refused] == ["role"]
    assert refused[0].data["action"] == "guard.read" and refused[0].actor_role == "steward"
    assert set(refused[0].private or {}) == {"client_key", "agent_key", "jurisdiction"}
    # The official reaches five times for cases of a county outside the jurisdiction.
    database = client.app.state.database  # type: ignore[attr-defined]
    for _ in range(5):
        with pytest.raises(Refused) as caught:
            authorize(
                official,
                "case.read",
                {"department_id": official.department_id, "region_code": "110101"},
            )
        assert caught.value.why == "jurisdiction" and caught.value.region_code == "110101"
        from tongban.identity import service as identity

        identity.record_refusal(
            database, caught.value, settings=guard.settings, client_ip="10.1.1.1", method="GET"
        )
    report = guard.run_once()
    assert len(report.alerts) == 1
    alert = _only_alert(db, demo, "access.out_of_jurisdiction")
    assert alert.accounts == [demo["official"].id] and alert.regions == ["110101"]
    _reverse_lock(db, demo, alert, attempt, "official")


def test_fetches_without_a_case_and_bulk_exports(
    db: Session, demo: dict[str, Account], guard: Guard, attempt: Attempt
) -> None:
    _set_actions(db, demo, "exchange.fetch_without_case", ["notify", "lock_account"])
    _set_actions(db, demo, "export.bulk", ["notify", "lock_account"])
    official, steward = demo["official"], demo["steward"]
    for refusal in ("no-case", "case-closed", "unknown-case"):
        events.record(
            db,
            action="exchange.fetch_refused",
            resource_type="case_data",
            resource_id="none",
            channel="online",
            actor_id=official.id,
            actor_role="official",
            data={"resource": "RS-YLBX-001", "outcome": "refused", "refusal": refusal},
        )
    # A refusal for another cause (no agreement) is no fetch without a case.
    events.record(
        db,
        action="exchange.fetch_refused",
        resource_type="case_data",
        resource_id="511602-20261130-X00000000001",
        channel="online",
        actor_id=steward.id,
        actor_role="steward",
        data={"refusal": "no-agreement"},
    )
    # Exports are consumed by name (any `*.exported` event with a count of rows).
    for rows in (3000, 2500):
        events.record(
            db,
            action="catalog.exported",
            resource_type="catalog",
            resource_id="all",
            channel="online",
            actor_id=steward.id,
            actor_role="steward",
            data={"count": rows},
        )
    assert len(guard.run_once().alerts) == 2
    fetch = _only_alert(db, demo, "exchange.fetch_without_case")
    assert fetch.accounts == [official.id] and fetch.facts["count"] == 3
    export = _only_alert(db, demo, "export.bulk")
    assert export.accounts == [steward.id] and export.facts["count"] == 5500
    _reverse_lock(db, demo, fetch, attempt, "official")
    _reverse_lock(db, demo, export, attempt, "steward")


def test_many_principals_and_a_node_for_foreign_regions(
    db: Session, demo: dict[str, Account], guard: Guard, attempt: Attempt
) -> None:
    _set_actions(db, demo, "proxy.many_principals", ["notify", "lock_account"])
    relative = demo["relative"]
    for principal in range(1000, 1006):
        events.record(
            db,
            action="case.submitted",
            resource_type="case",
            resource_id=f"511602-20261130-P{principal:011d}",
            channel="proxy",
            actor_id=relative.id,
            actor_role="citizen",
            on_behalf_of_id=principal,
        )
    for _ in range(3):
        events.record(
            db,
            action="exchange.message_refused",
            resource_type="exchange_message",
            resource_id="incoming",
            channel="api",
            data={"refusal": "region_not_served", "client_node": "CN-44-NODE", "region": "440300"},
        )
    assert len(guard.run_once().alerts) == 2
    proxy = _only_alert(db, demo, "proxy.many_principals")
    assert proxy.accounts == [relative.id] and proxy.facts["count"] >= 5
    node = _only_alert(db, demo, "node.foreign_region")
    assert node.nodes == ["CN-44-NODE"] and node.regions == ["440300"]
    assert "不服务" in node.explanation_zh
    _reverse_lock(db, demo, proxy, attempt, "relative")
    closed = guard_service.triage(
        db,
        actor=_admin(demo),
        alert_id=node.id,
        action="close",
        outcome="false_positive",
        note="测试节点",
    )
    assert closed.outcome == "false_positive"


def test_a_suspended_token_is_no_caller_until_the_admin_lifts_it(
    client: TestClient, db: Session, demo: dict[str, Account], guard: Guard
) -> None:
    """export.bulk through a token suspends that token (its events carry token_id)."""
    from tongban.identity import api_tokens

    settings = guard.settings
    issued = api_tokens.issue_api_token(
        db, account_id=demo["steward"].id, name="etl", settings=settings
    )
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    events.record(
        db,
        action="catalog.exported",
        resource_type="catalog",
        resource_id="all",
        channel="api",
        actor_id=demo["steward"].id,
        actor_role="steward",
        data={"count": 9000, "token_id": issued.row.id},
    )
    assert len(guard.run_once().alerts) == 1
    alert = _only_alert(db, demo, "export.bulk")
    suspended = next(r for r in alert.responses if r.action == "suspend_token")
    assert suspended.outcome == "done"
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    guard_service.reverse_response(
        db, actor=_admin(demo), response_id=suspended.id, reason="已核实"
    )
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_the_federation_refusing_forged_regions_raises_node_foreign_region(
    db: Session, demo: dict[str, Account], guard: Guard
) -> None:
    """The event the federation really records (inbound.refuse: the sender in resource_id, the
    refusal `forged_region`, the region the case number claimed) is what the rule counts."""
    import json

    from tongban.federation import inbound, messages

    for n in range(3):
        message = json.dumps(
            {
                "envelope": {
                    "sender": "gd.node",
                    "body": {"case": {"number": f"510000-20261130-FORGED00000{n}"}},
                },
                "key_id": "gd.node#1",
                "signature": "",
            }
        ).encode()
        inbound.refuse(
            db,
            data=message,
            refused=messages.Refused("forged_region", "gd.node does not serve 510000"),
        )
    assert len(guard.run_once().alerts) == 1
    node = _only_alert(db, demo, "node.foreign_region")
    assert node.nodes == ["gd.node"] and node.regions == ["510000"]
