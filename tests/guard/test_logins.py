"""Brute force on one account from many addresses, and password spraying across many
accounts: each is driven to an alert, stopped by the guard's automatic response, and let go
again when an admin reverses the response with a reason (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.guard.conftest import Attempt
from tongban.events.models import Event
from tongban.guard import service as guard_service
from tongban.guard.service import Guard
from tongban.identity import callers
from tongban.identity.demo import DEMO_PASSWORD
from tongban.identity.models import Account
from tongban.platform.errors import Forbidden


def _admin(demo: dict[str, Account]) -> callers.Actor:
    return callers.actor_for(demo["admin"])


def _actions(db: Session, after: int) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(Event.action).where(Event.id > after).order_by(Event.id)))


def _last_event(db: Session) -> int:
    return db.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0


def test_bruteforce_from_many_addresses_is_stopped_and_released(
    db: Session, demo: dict[str, Account], guard: Guard, attempt: Attempt
) -> None:
    # 16 addresses, one wrong password each: no per-address or per-username-at-address limit
    # is reached (today's throttles), but the account is being guessed at.
    outcomes = [attempt("official", f"guess-{i}", f"203.0.113.{i}") for i in range(16)]
    assert set(outcomes) == {"failed"}
    mark = _last_event(db)
    report = guard.run_once()
    assert report.events >= 16 and len(report.alerts) == 1
    admin = _admin(demo)
    [alert] = guard_service.list_alerts(db, actor=admin, kind="login.bruteforce")
    assert alert.severity == "high" and alert.state == "open"
    assert alert.subject == f"account:{demo['official'].id}"
    assert alert.accounts == [demo["official"].id]
    assert alert.facts["count"] >= 15 and alert.facts["addresses"] >= 15
    assert len(alert.evidence) >= 15 and all(e["uid"] for e in alert.evidence)
    assert "暴力破解" in alert.explanation_zh and "guessed" in alert.explanation_en
    # The response: the account's logins blocked for a while, and the operators notified.
    actions = {r.action: r for r in alert.responses}
    assert actions["block_account_logins"].outcome == "done" and actions["notify"]
    recorded = _actions(db, mark)
    assert "guard.alert_raised" in recorded and "security.block_placed" in recorded
    assert recorded.count("guard.response_taken") == 2
    # Stopped: even the right password, from a new address, is refused while it lasts.
    assert attempt("official", DEMO_PASSWORD, "198.51.100.7") == "locked"
    # The same alert is not raised twice for the same account while it is open.
    assert guard.run_once().alerts == []
    # An admin reverses the block with a reason: the owner logs in again.
    block = actions["block_account_logins"]
    with pytest.raises(Exception, match="reason"):
        guard_service.reverse_response(db, actor=admin, response_id=block.id, reason=" ")
    after = guard_service.reverse_response(
        db, actor=admin, response_id=block.id, reason="本人已核实，密码已更换"
    )
    assert {r.action: r.outcome for r in after.responses}["block_account_logins"] == "reversed"
    db.flush()
    assert "security.block_lifted" in _actions(db, mark)
    assert "guard.response_reversed" in _actions(db, mark)
    assert attempt("official", DEMO_PASSWORD, "198.51.100.7") == "ok"
    # Triage: closed as a true positive with a note.
    closed = guard_service.triage(
        db, actor=admin, alert_id=alert.id, action="close", outcome="true_positive", note="已处置"
    )
    assert closed.state == "closed" and closed.outcome == "true_positive"


def test_spraying_many_accounts_is_stopped_and_released(
    db: Session, demo: dict[str, Account], guard: Guard, attempt: Attempt
) -> None:
    # Three addresses each try one common password on many usernames (existing or not).
    names = [*sorted(demo), *(f"nobody{i}" for i in range(10))]
    addresses = ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
    for i, name in enumerate(names):
        assert attempt(name, "Password123", addresses[i % 3]) == "failed"
    report = guard.run_once()
    admin = _admin(demo)
    [alert] = guard_service.list_alerts(db, actor=admin, kind="login.spray")
    assert report.alerts == [alert.id]
    assert alert.facts["usernames"] >= 12 and alert.facts["addresses"] == 3
    blocks = [r for r in alert.responses if r.action == "block_address"]
    assert len(blocks) == 3 and {r.outcome for r in blocks} == {"done"}
    # Stopped: the sprayers' addresses may not log in at all, the rest of the world may.
    assert attempt("citizen", DEMO_PASSWORD, addresses[0]) == "locked"
    assert attempt("citizen", DEMO_PASSWORD, "198.51.100.8") == "ok"
    # A fourth address joins the spray: the open alert answers it too (a follow-up).
    for name in names[:4]:
        attempt(name, "Password123", "192.0.2.13")
    assert guard.run_once().alerts == []
    again = guard_service.get_alert(db, actor=admin, alert_id=alert.id)
    assert len([r for r in again.responses if r.action == "block_address"]) == 4
    # An admin lifts one address's block (a shared hall behind one address, say).
    first = next(r for r in again.responses if r.action == "block_address")
    guard_service.reverse_response(
        db, actor=admin, response_id=first.id, reason="误判：服务大厅出口地址"
    )
    unblocked = [a for a in addresses if attempt("citizen", DEMO_PASSWORD, a) == "ok"]
    assert len(unblocked) == 1


def test_only_admins_read_and_triage_alerts(db: Session, demo: dict[str, Account]) -> None:
    for name in ("citizen", "clerk", "official", "steward"):
        with pytest.raises(Forbidden):
            guard_service.list_alerts(db, actor=callers.actor_for(demo[name]))
