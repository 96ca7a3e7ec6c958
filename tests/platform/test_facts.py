"""Shared facts: read once a second per process, a transaction sees its own change at once."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from tongban.platform.db import Database
from tongban.platform.db.facts import SharedFact


def _count(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM probe_facts")).scalar_one())


def test_a_shared_fact_follows_changes_as_promised(fresh_database: Database) -> None:
    with fresh_database.session_scope() as session:
        session.execute(text("CREATE TABLE probe_facts (n INTEGER)"))
    reads: list[int] = []

    def read(session: Session) -> int:
        reads.append(1)
        return _count(session)

    fact = SharedFact("probe", read, ttl=3600)
    with fresh_database.session_scope() as session:
        assert fact.get(session) == 0
        assert fact.get(session) == 0
    with fresh_database.session_scope() as session:
        assert fact.get(session) == 0
    assert len(reads) == 1  # one read shared by two transactions

    # Changed elsewhere (another process): seen when the shared value expires, not before.
    with fresh_database.session_scope() as session:
        session.execute(text("INSERT INTO probe_facts VALUES (1)"))
    with fresh_database.session_scope() as session:
        assert fact.get(session) == 0

    # Changed here: this transaction sees its change; others see it once it has committed.
    with fresh_database.session_scope() as session:
        session.execute(text("INSERT INTO probe_facts VALUES (2)"))
        fact.changed(session)
        assert fact.get(session) == 2
        with fresh_database.session_scope() as other:
            assert fact.get(other) == 0
    with fresh_database.session_scope() as session:
        assert fact.get(session) == 2

    # A change that rolls back leaves the shared value alone.
    session = fresh_database.sessions()
    session.execute(text("INSERT INTO probe_facts VALUES (3)"))
    fact.changed(session)
    assert fact.get(session) == 3
    session.rollback()
    session.close()
    before = len(reads)
    with fresh_database.session_scope() as session:
        assert fact.get(session) == 2
    assert len(reads) == before
    with fresh_database.session_scope() as session:
        session.execute(text("DROP TABLE probe_facts"))


def test_a_shared_fact_is_read_again_after_its_ttl(fresh_database: Database) -> None:
    values = iter([1, 2])
    fact = SharedFact("probe-ttl", lambda _session: next(values), ttl=0)
    with fresh_database.session_scope() as session:
        assert fact.get(session) == 1
    with fresh_database.session_scope() as session:
        assert fact.get(session) == 2
