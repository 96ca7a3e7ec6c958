"""The per-process calendar cache: shared answers, never stale after an operator entry."""

from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from tongban.platform.db import Database
from tongban.workdays.service import load_calendar, set_day


def test_calendar_reused_and_sees_new_entries_at_once(db: Session) -> None:
    first = load_calendar(db)
    assert load_calendar(db) is first  # same entries: the memoised calendar is shared
    saturday = date(2031, 3, 8)
    assert first.is_workday(saturday) is False
    set_day(db, day=saturday, is_workday=True, name="调休")
    changed = load_calendar(db)
    assert changed is not first
    assert changed.is_workday(saturday) is True
    assert first.is_workday(saturday) is False  # an old calendar keeps its own answers
    set_day(db, day=saturday, is_workday=False, name="")
    assert load_calendar(db).is_workday(saturday) is False


def test_concurrent_write_transactions_take_turns(fresh_database: Database) -> None:
    """Threads writing at once all commit (SQLite: queued by the gate; PostgreSQL: as ever)."""
    with fresh_database.session_scope() as session:
        session.execute(text("CREATE TABLE gate_probe (n INTEGER)"))
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(5):
                with fresh_database.session_scope() as session:
                    session.execute(text("INSERT INTO gate_probe (n) VALUES (:n)"), {"n": n})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with fresh_database.session_scope() as session:
        assert session.execute(text("SELECT count(*) FROM gate_probe")).scalar_one() == 30
    # A failed transaction releases the gate too: the next one still gets in.
    try:
        with fresh_database.session_scope() as session:
            session.execute(text("INSERT INTO no_such_table VALUES (1)"))
    except Exception:
        pass
    with fresh_database.session_scope() as session:
        session.execute(text("INSERT INTO gate_probe (n) VALUES (99)"))
        session.execute(text("DROP TABLE gate_probe"))
