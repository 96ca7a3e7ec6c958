"""Races: two officials accepting one case, and retries of one submission arriving together."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cases.conftest import build_world, submit_pension
from tests.support import cases_internals as cases
from tongban.cases import intake
from tongban.cases.models import Message
from tongban.cases.schemas import CaseCreate
from tongban.events import service as events
from tongban.events.models import Event
from tongban.platform.config import Settings
from tongban.platform.db import Database
from tongban.platform.errors import Conflict, NotFound
from tongban.shell.app import create_app


def test_concurrent_accepts_one_wins(fresh_database: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=fresh_database.url)
    with fresh_database.session_scope() as session:
        world = build_world(session, settings)
        number = submit_pension(session, world, settings).number
    app = create_app(settings, fresh_database)
    with TestClient(app) as warm:
        # Resolve the token once, so that the race is about the case alone.
        assert warm.get("/api/v1/queue", headers=world.h("official")).status_code == 200
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def accept() -> None:
        with TestClient(app) as client:
            barrier.wait()
            r = client.post(
                f"/api/v1/cases/{number}/actions/accept",
                headers=world.h("official"),
                json={"version": 1},
            )
            statuses.append(r.status_code)

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) in ([200, 409], [200, 412])
    with fresh_database.session_scope() as session:
        case = cases.get_case(session, number=number)
        assert case.state == "accepted" and case.version == 2
        timeline = events.for_resource(session, resource_type="case", resource_id=number)
        assert [e.action for e in timeline] == ["case.submitted", "case.accept"]


def test_simultaneous_retries_make_one_case(fresh_database: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=fresh_database.url)
    with fresh_database.session_scope() as session:
        world = build_world(session, settings)
    app = create_app(settings, fresh_database)
    body = {"implementation": "TEST-HUJI-440305", "form": {}}
    headers = world.h("migrant", **{"Idempotency-Key": "same-key"})
    barrier = threading.Barrier(6)
    answers: list[tuple[int, str]] = []

    def submit() -> None:
        with TestClient(app) as client:
            barrier.wait()
            r = client.post("/api/v1/cases", headers=headers, json=body)
            answers.append((r.status_code, r.json()["number"]))

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(status for status, _ in answers) == [200] * 5 + [201]
    assert len({number for _, number in answers}) == 1
    with fresh_database.session_scope() as session:
        stored = session.scalars(
            select(cases.Case).where(cases.Case.idempotency_key == "same-key")
        ).all()
        assert len(stored) == 1


class Filed:
    """A world and one keyed submission already stored, to be retried."""

    def __init__(self, database: Database, tmp_path: Path) -> None:
        self.database = database
        self.settings = Settings(data_dir=tmp_path / "var", database_url=database.url)
        self.data = CaseCreate.model_validate({"implementation": "TEST-HUJI-440305", "form": {}})
        with database.session_scope() as session:
            self.world = build_world(session, self.settings)
            self.first, created = self.retry(session)
            assert created

    def retry(
        self, session: Session, *, key: str = "k", data: CaseCreate | None = None
    ) -> tuple[cases.Case, bool]:
        """Submit again as the same citizen (the same body and key unless told)."""
        return cases.submit(
            session,
            actor=self.world.actor("migrant"),
            data=data or self.data,
            settings=self.settings,
            idempotency_key=key,
        )


def test_a_retry_is_found_by_its_insert_and_writes_nothing(
    fresh_database: Database, tmp_path: Path
) -> None:
    """The retry's INSERT meets the stored key: no second case, event or message."""
    filed = Filed(fresh_database, tmp_path)
    counted = (cases.Case, Event, Message)

    def counts(session: Session) -> list[int]:
        return [session.scalar(select(func.count()).select_from(m)) or 0 for m in counted]

    with fresh_database.session_scope() as session:
        before = counts(session)
        again, created = filed.retry(session)
        assert not created and again.number == filed.first.number
    with fresh_database.session_scope() as session:
        assert counts(session) == before


def test_a_retry_that_no_longer_passes_answers_with_its_case(
    fresh_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored, then the item was withdrawn: the retry still gets the case it made."""
    filed = Filed(fresh_database, tmp_path)

    def withdrawn(session: Session, **_: object) -> None:
        raise NotFound("There is no implementation 'TEST-HUJI-440305'.")

    monkeypatch.setattr(intake, "find_offer", withdrawn)
    with fresh_database.session_scope() as session:
        again, created = filed.retry(session)
        assert not created and again.number == filed.first.number
        # Without a stored case the error stands, and a changed body is still a conflict.
        with pytest.raises(NotFound):
            filed.retry(session, key="other")
        with pytest.raises(Conflict):
            filed.retry(session, data=filed.data.model_copy(update={"form": {"x": 1}}))
