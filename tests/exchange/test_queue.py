"""Fetching at acceptance runs after the acceptance commits (exchange/automatic.py): a slow or
down provider does not hold the acceptance; the queued fetch lands when the queue runs; a
provider that stays down is retried, then shown as failed on the checklist and retried by
hand; an error leaves nothing half-written; one fetch is never run by two workers."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.exchange.conftest import World, make_case

from tongban.events.models import Event
from tongban.exchange import automatic, fetch
from tongban.exchange.errors import ProviderUnavailable
from tongban.exchange.models import DataFetch, Message, PendingFetch
from tongban.platform.config import Settings
from tongban.platform.db import Database, utcnow

MATERIAL = "参保缴费凭证"


def _accept(client: TestClient, world: World, db: Session) -> str:
    case = make_case(db, world, state="received")
    started = time.monotonic()
    accepted = client.post(
        f"/api/v1/cases/{case.number}/actions/accept",
        json={"version": case.version},
        headers=world.h("official"),
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    assert time.monotonic() - started < 3.0  # no provider is asked inside the acceptance
    return case.number


def _queued(db: Session, number: str) -> PendingFetch:
    db.expire_all()
    row = db.scalar(select(PendingFetch).where(PendingFetch.case_number == number))
    assert row is not None
    return row


def _fetches(db: Session, number: str) -> list[DataFetch]:
    return list(db.scalars(select(DataFetch).where(DataFetch.case_number == number)))


def _actions(db: Session, number: str) -> list[str]:
    return list(
        db.scalars(
            select(Event.action)
            .where(Event.resource_type == "case_data", Event.resource_id == number)
            .order_by(Event.id)
        )
    )


def _checklist_line(client: TestClient, world: World, number: str) -> str:
    page = client.get(f"/cases/{number}", headers={**world.h("official"), "Accept": "text/html"})
    assert page.status_code == 200, page.text
    start = page.text.index(MATERIAL)
    return page.text[start : start + 400]


def test_acceptance_queues_the_fetch_and_the_queue_brings_the_record(
    client: TestClient,
    world: World,
    db: Session,
    bound_database: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A provider taking 5 s does not hold the acceptance: nothing is asked until it commits."""
    asked: list[str] = []
    real_ask = fetch.ask

    def slow(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["resource"].code)
        time.sleep(5)
        return real_ask(*args, **kwargs)

    monkeypatch.setattr(fetch, "ask", slow)
    number = _accept(client, world, db)
    assert asked == [] and _fetches(db, number) == []
    row = _queued(db, number)
    assert (row.resource_code, row.state, row.attempts) == ("RS-YLBX-001", "pending", 0)
    queued = db.scalar(select(Event).where(Event.action == "exchange.fetch_queued"))
    assert queued is not None and queued.data["resources"] == ["RS-YLBX-001"]
    line = _checklist_line(client, world, number)
    assert "正在通过共享获取" in line or "Being obtained by data sharing" in line

    monkeypatch.setattr(fetch, "ask", real_ask)
    report = automatic.run_due(bound_database, settings)
    assert (report.done, report.retry, report.failed) == (1, 0, 0)
    row = _queued(db, number)
    fetched = _fetches(db, number)
    assert row.state == "done" and [f.id for f in fetched] == [row.fetch_id]
    assert fetched[0].found and fetched[0].purpose == automatic.PURPOSE
    assert _actions(db, number)[-1] == "exchange.fetched"
    line = _checklist_line(client, world, number)
    assert "已通过共享获取" in line or "Obtained by data sharing" in line
    assert automatic.run_due(bound_database, settings).total == 0  # nothing left to do


def test_a_provider_that_stays_down_is_retried_then_failed_and_retried_by_hand(
    client: TestClient,
    world: World,
    db: Session,
    bound_database: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_ask = fetch.ask

    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise ProviderUnavailable("The provider did not answer.")

    monkeypatch.setattr(fetch, "ask", down)
    number = _accept(client, world, db)
    now = utcnow()
    for attempt in range(1, automatic.MAX_ATTEMPTS):
        report = automatic.run_due(bound_database, settings, now=now)
        assert (report.done, report.retry, report.failed) == (0, 1, 0)
        row = _queued(db, number)
        assert (row.state, row.attempts, row.problem) == (
            "pending",
            attempt,
            "provider-unavailable",
        )
        assert row.next_attempt_at == now + automatic.RETRY_AFTER[attempt - 1]
        assert automatic.run_due(bound_database, settings, now=now).total == 0  # not due yet
        line = _checklist_line(client, world, number)
        assert "将自动重试" in line or "tried again automatically" in line
        now = row.next_attempt_at
    report = automatic.run_due(bound_database, settings, now=now)
    assert (report.done, report.retry, report.failed) == (0, 0, 1)
    row = _queued(db, number)
    assert (row.state, row.attempts) == ("failed", automatic.MAX_ATTEMPTS)
    assert _fetches(db, number) == []  # the case is unchanged
    refusals = db.scalars(
        select(Event).where(Event.action == "exchange.fetch_refused", Event.resource_id == number)
    ).all()
    assert [e.data["refusal"] for e in refusals] == ["provider-unavailable"] * 4
    line = _checklist_line(client, world, number)
    assert "共享获取失败" in line or "Not obtained by data sharing" in line
    page = client.get(f"/cases/{number}", headers={**world.h("official"), "Accept": "text/html"})
    assert 'id="data-fetch" open' in page.text
    assert "重试" in page.text or "Try again" in page.text

    # The official retries by hand once the provider is back: the queued fetch is settled.
    monkeypatch.setattr(fetch, "ask", real_ask)
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    retried = client.post(
        f"/cases/{number}/data-fetch",
        data={"csrf_token": token.group(1), "material": MATERIAL},
        headers={**world.h("official"), "Accept": "text/html"},
        follow_redirects=False,
    )
    assert retried.status_code == 303, retried.text
    row = _queued(db, number)
    assert row.state == "done" and row.fetch_id == _fetches(db, number)[0].id
    line = _checklist_line(client, world, number)
    assert "已通过共享获取" in line or "Obtained by data sharing" in line


def test_an_error_leaves_nothing_half_written_and_is_retried(
    client: TestClient,
    world: World,
    db: Session,
    bound_database: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(session: Session, **kwargs: Any) -> Any:
        # Something is written (as a remote fetch logs its message) before the error.
        session.add(
            Message(
                direction="out",
                client="x",
                service="y",
                message_id="m" * 10,
                issue=None,
                request_sha256="0" * 64,
                logged_at=utcnow(),
            )
        )
        session.flush()
        raise RuntimeError("boom")

    monkeypatch.setattr(fetch, "ask", broken)
    number = _accept(client, world, db)
    messages = len(db.scalars(select(Message)).all())
    before = _actions(db, number)
    report = automatic.run_due(bound_database, settings)
    assert (report.done, report.retry, report.failed) == (0, 1, 0)
    row = _queued(db, number)
    assert (row.state, row.problem, row.attempts) == ("pending", "internal-error", 1)
    assert _fetches(db, number) == [] and _actions(db, number) == before
    assert len(db.scalars(select(Message)).all()) == messages


def test_a_refusal_fails_at_once_and_a_fetch_is_claimed_once(
    client: TestClient,
    world: World,
    db: Session,
    bound_database: Database,
    settings: Settings,
) -> None:
    number = _accept(client, world, db)
    row = _queued(db, number)
    now = utcnow()
    assert automatic._claim(bound_database, pending_id=row.id, now=now)
    assert not automatic._claim(bound_database, pending_id=row.id, now=now)  # taken
    assert automatic.run_one(bound_database, settings, pending_id=row.id, now=now) is None
    # A worker that died: its lease runs out, another takes the fetch over.
    later = now + automatic.LEASE + timedelta(seconds=1)
    case = db.scalar(select(DataFetch.case_number).where(DataFetch.case_number == number))
    assert case is None
    from tests.support import cases_internals as cases

    stored = db.scalar(select(cases.Case).where(cases.Case.number == number))
    assert stored is not None
    stored.state = "completed"  # closed before the fetch ran: a refusal, no retry
    db.flush()
    assert automatic.run_one(bound_database, settings, pending_id=row.id, now=later) == "failed"
    row = _queued(db, number)
    assert (row.state, row.problem) == ("failed", "case-closed")
    assert _actions(db, number)[-1] == "exchange.fetch_refused"
    assert _fetches(db, number) == []
