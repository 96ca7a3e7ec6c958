"""The exchange's worker thread (what `tongban serve` runs): it takes a queued fetch as soon as
it is woken (an acceptance committed), not only at its next poll, and stops cleanly."""

from __future__ import annotations

import time
from types import SimpleNamespace

from sqlalchemy import select

from tongban.exchange import automatic, worker
from tongban.exchange.models import PendingFetch
from tongban.platform.config import Settings
from tongban.platform.db import Database, utcnow


def _state(database: Database) -> str | None:
    with database.session_scope() as session:
        return session.scalar(select(PendingFetch.state))


def test_the_worker_runs_a_queued_fetch_when_woken(
    fresh_database: Database, settings: Settings
) -> None:
    app = SimpleNamespace(state=SimpleNamespace(database=fresh_database, settings=settings))
    stop = worker.starter(poll=600)(app)  # its polls are far apart: only a wake-up helps
    try:
        time.sleep(0.5)  # the first round (an empty queue) is over
        with fresh_database.session_scope() as session:
            now = utcnow()
            session.add(
                PendingFetch(
                    case_number="511602-20261102-X00000000009",
                    resource_code="RS-YLBX-001",
                    actor_id=987654,  # no such official any more: failed, not retried
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        assert _state(fresh_database) == "pending"
        automatic.wake()
        deadline = time.monotonic() + 60  # a loaded machine (the poll is 600 s away)
        while _state(fresh_database) == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _state(fresh_database) == "failed"
    finally:
        started = time.monotonic()
        stop()
        assert time.monotonic() - started < 5  # the stopper wakes the thread to end it
