"""The SQLite write gate: reads take no lock, writes queue, and a read-then-write never fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    func,
    select,
    text,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests import conftest
from tests.conftest import BACKENDS, REQUIRE_POSTGRES, _postgres_reachable
from tongban.cases.models import Case
from tongban.events.models import Event
from tongban.platform.db import Database, make_engine, utcnow
from tongban.platform.db.fastpath.direct_sql import fetch_one, read_all, read_one
from tongban.platform.db.fastpath.rows import insert_now, insert_together, new_row
from tongban.platform.db.uow import after_commit, transaction_memo

metadata = MetaData()
counters = Table(
    "counters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), nullable=False),
    Column("value", Integer, nullable=False),
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(counters.insert().values(id=1, name="a", value=0))
    yield engine
    engine.dispose()


def test_a_reader_is_not_held_up_by_an_open_writer(engine: Engine) -> None:
    with engine.connect() as writer:
        writer.execute(counters.insert().values(id=2, name="b", value=0))  # holds the write lock
        started = time.monotonic()
        with engine.connect() as reader:
            rows = reader.execute(select(counters.c.id)).scalars().all()
        assert time.monotonic() - started < 1
        assert rows == [1]  # the uncommitted row is not seen
        writer.commit()


def test_a_write_after_a_read_succeeds_when_another_writer_committed_between(
    engine: Engine,
) -> None:
    with engine.connect() as slow:
        assert slow.execute(select(counters.c.value)).scalar_one() == 0  # snapshot taken
        with engine.begin() as fast:
            fast.execute(update(counters).values(value=counters.c.value + 1))
        # SQLite would refuse to upgrade the stale snapshot (SQLITE_BUSY_SNAPSHOT); the gate
        # ended it first, so this write sees the other one and adds to it.
        slow.execute(update(counters).values(value=counters.c.value + 1))
        slow.commit()
    with engine.connect() as conn:
        assert conn.execute(select(counters.c.value)).scalar_one() == 2


def test_concurrent_writers_all_succeed_and_lose_nothing(engine: Engine) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                with engine.begin() as conn:
                    conn.execute(select(counters.c.value)).scalar_one()
                    conn.execute(update(counters).values(value=counters.c.value + 1))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(select(counters.c.value)).scalar_one() == 150


def test_select_for_update_takes_the_write_lock(engine: Engine) -> None:
    order: list[str] = []
    locked = threading.Event()

    def holder() -> None:
        with engine.begin() as conn:
            conn.execute(select(counters).with_for_update()).all()
            locked.set()
            time.sleep(0.3)
            order.append("holder commits")

    thread = threading.Thread(target=holder)
    thread.start()
    locked.wait(5)
    with engine.begin() as conn:
        conn.execute(update(counters).values(value=7))
        order.append("other writes")
    thread.join()
    assert order == ["holder commits", "other writes"]


def test_a_failed_write_transaction_releases_the_gate(engine: Engine) -> None:
    with pytest.raises(Exception, match="UNIQUE"), engine.begin() as conn:
        conn.execute(counters.insert().values(id=1, name="dup", value=0))
    started = time.monotonic()
    with engine.begin() as conn:
        conn.execute(counters.insert().values(id=3, name="c", value=0))
    assert time.monotonic() - started < 1


def test_transaction_memo_lasts_one_transaction_across_flushes_and_savepoints(
    engine: Engine,
) -> None:
    session = Session(engine)
    memo = transaction_memo(session)
    memo["fact"] = 1
    session.execute(update(counters).values(value=1))
    session.flush()  # a flush runs in a subtransaction of its own: the memo stays
    with session.begin_nested():
        session.execute(update(counters).values(value=2))
    assert transaction_memo(session) == {"fact": 1}
    session.commit()
    assert transaction_memo(session) == {}  # a new transaction reads afresh
    transaction_memo(session)["fact"] = 2
    session.rollback()
    assert transaction_memo(session) == {}
    session.close()


def test_after_commit_actions_run_once_after_the_commit_and_never_after_a_rollback(
    engine: Engine,
) -> None:
    ran: list[str] = []
    session = Session(engine)
    session.execute(update(counters).values(value=5))
    after_commit(session, lambda: ran.append("committed"))
    session.flush()
    assert ran == []
    session.commit()
    assert ran == ["committed"]
    session.commit()
    assert ran == ["committed"]  # once

    session.execute(update(counters).values(value=6))
    after_commit(session, lambda: ran.append("rolled back"))
    session.rollback()
    session.execute(update(counters).values(value=7))
    session.commit()
    assert ran == ["committed"]

    def failing() -> None:
        raise RuntimeError("gateway down")

    session.execute(update(counters).values(value=8))
    after_commit(session, failing)
    after_commit(session, lambda: ran.append("still runs"))
    session.commit()  # a failing action neither raises nor undoes the commit
    assert ran == ["committed", "still runs"]
    with engine.connect() as conn:
        assert conn.execute(select(counters.c.value)).scalar_one() == 8
    session.close()


def _event(uid: str) -> Event:
    return Event(
        uid=uid,
        occurred_at=utcnow(),
        action="probe.made",
        resource_type="probe",
        resource_id="1",
        channel="system",
        data={"n": 1},
    )


def test_insert_now_stores_at_once_and_attaches_the_object(db: Session) -> None:
    event = _event("insert-now-1")
    assert insert_now(db, event) is True
    assert event.id is not None and event in db and not db.new  # persistent, nothing pending
    stored = db.connection().execute(select(Event.uid).where(Event.id == event.id)).scalar()
    assert stored == "insert-now-1"
    assert event.personal is None and event.reason is None  # unset columns: NULL, known
    event.reason = "changed later"
    db.flush()  # an ordinary UPDATE from here on
    assert db.scalar(select(Event.reason).where(Event.id == event.id)) == "changed later"


def test_insert_now_skips_a_duplicate_and_the_transaction_goes_on(db: Session) -> None:
    assert insert_now(db, _event("insert-now-2"), unless_duplicate=("uid",)) is True
    twin = _event("insert-now-2")
    assert insert_now(db, twin, unless_duplicate=("uid",)) is False
    assert twin not in db and twin.id is None
    # No failed statement: PostgreSQL would refuse everything after one until a rollback.
    assert insert_now(db, _event("insert-now-3")) is True
    count = db.scalar(select(func.count()).select_from(Event).where(Event.resource_type == "probe"))
    assert count == 2


def test_insert_now_stores_what_the_unit_of_work_would(db: Session) -> None:
    # On PostgreSQL insert_now runs the compiled INSERT on the driver's cursor itself: every
    # type's conversion (JSON, timestamps with zones, NULLs) must come out as the ORM's does.
    values = {
        "resource_type": "probe-same",
        "resource_id": "r-1",
        "channel": "counter",
        "action": "case.submitted",
        "occurred_at": datetime(2026, 2, 16, 23, 30, tzinfo=timezone(timedelta(hours=8))),
        "data": {"名字": "张三", "n": [1, 2.5, None], "ok": True},
        "personal": {"resident_id": "110101199003077777"},
        "reason": None,
    }
    direct = new_row(Event, uid="same-direct", **values)
    assert insert_now(db, direct) is True
    first, follower = _event("same-first"), new_row(Event, uid="same-follower", **values)
    assert insert_together(db, first, [follower]) is True  # one statement on PostgreSQL
    ordinary = Event(uid="same-orm", **values)
    db.add(ordinary)
    db.flush()
    db.expire_all()
    rows = db.scalars(select(Event).where(Event.resource_type == "probe-same").order_by(Event.uid))
    stored = [{column: getattr(row, column) for column in values} for row in rows.all()]
    assert len(stored) == 3 and stored[0] == stored[1] == stored[2]
    assert stored[0]["occurred_at"] == values["occurred_at"]


def test_insert_now_raises_a_refused_row_as_sqlalchemy_does(db: Session) -> None:
    assert insert_now(db, _event("insert-now-twin")) is True
    savepoint = db.begin_nested()
    with pytest.raises(IntegrityError):
        insert_now(db, _event("insert-now-twin"))  # the uid is unique
    savepoint.rollback()
    assert insert_now(db, _event("insert-now-after")) is True  # the transaction goes on
    uids = db.scalars(select(Event.uid).where(Event.uid.like("insert-now-%"))).all()
    assert sorted(uids) == ["insert-now-after", "insert-now-twin"]


def test_insert_together_stores_the_followers_only_with_the_first(db: Session) -> None:
    first, then = _event("together-1"), [_event("together-1a"), _event("together-1b")]
    assert insert_together(db, first, then, unless_duplicate=("uid",)) is True
    assert all(row.id is not None and row in db for row in [first, *then]) and not db.new
    twin, followers = _event("together-1"), [_event("together-2a")]
    assert insert_together(db, twin, followers, unless_duplicate=("uid",)) is False
    assert twin.id is None and followers[0].id is None and twin not in db
    uids = db.scalars(select(Event.uid).where(Event.uid.like("together-%"))).all()
    assert sorted(uids) == ["together-1", "together-1a", "together-1b"]  # nothing of the twin's
    stored = db.get(Event, then[1].id)
    assert stored is then[1] and stored.data == {"n": 1}


def test_the_direct_path_is_taken_on_both_databases(db: Session, backend: str) -> None:
    # A statement SQLAlchemy would compile with defaults to compute, or with escaped names,
    # falls back to Connection.execute: the hot inserts must not. One statement for several
    # rows (insert_together) is PostgreSQL's: on SQLite they are inserted one after another.
    from tongban.platform.db.fastpath import rows

    insert_now(db, _event("direct-1"))
    insert_together(db, _event("direct-2"), [_event("direct-3")], unless_duplicate=("uid",))
    singles = [d for k, d in rows._DIRECT.items() if "events" in str(k) and backend in k]
    together = [d for k, d in rows._TOGETHER.items() if "events" in str(k) and backend in k]
    assert len(singles) >= 2 and together
    assert all(direct is not None for direct in singles)
    if backend == "postgresql":
        assert all(direct is not None for direct in together)
        assert all(d is not None and "$1" in d.sql and "%(" not in d.sql for d in singles)
    else:
        assert all(direct is None for direct in together)
        assert all(d is not None and d.sqlite and "?" in d.sql for d in singles)


def test_fetch_one_answers_as_sqlalchemy_does(db: Session, backend: str) -> None:
    # The SELECT runs on the driver's cursor: same row, same fields, same types.
    stored = _event("fetch-one-1")
    insert_now(db, stored)
    statement = select(Event.id, Event.uid, Event.occurred_at, Event.data).where(
        Event.uid == bindparam("uid")
    )
    row = fetch_one(db, statement, {"uid": "fetch-one-1"})
    expected = db.connection().execute(statement, {"uid": "fetch-one-1"}).one()
    assert tuple(row) == tuple(expected) and row.uid == "fetch-one-1"
    assert row.occurred_at == stored.occurred_at and row.occurred_at.utcoffset() == timedelta(0)
    assert row.data == {"n": 1}
    assert fetch_one(db, statement, {"uid": "no-such-event"}) is None
    from tongban.platform.db.fastpath import direct_sql

    assert direct_sql._QUERIES[(statement, backend, ("uid",))] is not None


def test_read_all_and_read_one_answer_as_the_orm_does(db: Session) -> None:
    # Every row with its types, as SQLAlchemy reads them; and, as the ORM's autoflush before
    # a query, what the session holds unflushed is written first and seen.
    for uid in ("read-all-1", "read-all-2"):
        insert_now(db, _event(uid))
    statement = (
        select(Event.uid, Event.occurred_at, Event.data)
        .where(Event.action == bindparam("action"))
        .order_by(Event.uid)
    )
    got = read_all(db, statement, {"action": "probe.made"})
    expected = db.connection().execute(statement, {"action": "probe.made"}).all()
    assert [tuple(r) for r in got] == [tuple(r) for r in expected] and len(got) == 2
    assert got[0].uid == "read-all-1" and got[0].occurred_at.utcoffset() == timedelta(0)
    pending = _event("read-one-pending")
    db.add(pending)  # not flushed
    by_uid = select(Event.uid, Event.data).where(Event.uid == bindparam("uid"))
    assert read_one(db, by_uid, {"uid": "read-one-pending"}).data == {"n": 1}
    assert pending.id is not None  # flushed first
    with db.no_autoflush:
        late = _event("read-one-late")
        db.add(late)
        assert read_one(db, by_uid, {"uid": "read-one-late"}) is None  # as the ORM would
    assert read_all(db, statement, {"action": "no-such-action"}) == []


def test_a_direct_write_on_sqlite_queues_at_the_write_gate(tmp_path: Path) -> None:
    # sqlite3's cursor is used directly, but the engine's listeners still see each statement,
    # the write gate among them: a second writer waits for the first to commit (instead of
    # failing on SQLite's lock), and a refused row is SQLAlchemy's IntegrityError.
    engine = make_engine(f"sqlite:///{tmp_path / 'direct.db'}")
    Event.__table__.create(engine)  # type: ignore[attr-defined]
    seen: list[str] = []

    def listener(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement.split()[0])

    from sqlalchemy import event as sa_event

    sa_event.listen(engine, "before_cursor_execute", listener)
    order: list[str] = []
    first_wrote = threading.Event()

    def second() -> None:
        first_wrote.wait(5)
        with Session(engine) as session:
            insert_now(session, _event("gate-2"))
            order.append("second wrote")
            session.commit()

    thread = threading.Thread(target=second)
    thread.start()
    with Session(engine) as session:
        insert_now(session, _event("gate-1"))
        first_wrote.set()
        time.sleep(0.3)
        order.append("first commits")
        session.commit()
    thread.join(10)
    assert order == ["first commits", "second wrote"]
    assert seen.count("INSERT") == 2
    with Session(engine) as session:
        with pytest.raises(IntegrityError):
            insert_now(session, _event("gate-1"))
        session.rollback()
        assert sorted(session.scalars(select(Event.uid))) == ["gate-1", "gate-2"]
    engine.dispose()


def test_new_row_is_the_constructor_without_change_events(db: Session) -> None:
    case = new_row(Case, number="NEW-ROW-1", state="received", materials=[], steps=[])
    assert case.number == "NEW-ROW-1" and case.state == "received"
    assert case.materials == [] and case.steps == []  # loaded: no query, no session needed
    assert sa_inspect(case).transient and not sa_inspect(case).modified


def test_insert_now_starts_the_version_column_at_one(db: Session) -> None:
    from tests.cases.conftest import build_world, submit_pension
    from tongban.platform.config import Settings

    settings = Settings(data_dir=Path("/nonexistent"), database_url="sqlite://")
    world = build_world(db, settings)
    case = submit_pension(db, world, settings)
    assert case.version == 1
    assert db.scalar(select(Case.version).where(Case.id == case.id)) == 1


def test_the_wal_is_checkpointed_off_the_writers_path(engine: Engine, tmp_path: Path) -> None:
    # A writer that leaves the WAL past the bound wakes the checkpointing thread instead of
    # checkpointing in its own request; a WAL the thread lets grow far past it is bounded by
    # the writers themselves.
    from tongban.platform.db.sqlite_gate import WAL_CHECKPOINT_BYTES, WAL_FORCE_FACTOR, gate_of

    database_file = tmp_path / "gate.db"
    wal = tmp_path / "gate.db-wal"
    engine.dispose()  # the last connection closing checkpointed the setup rows
    before = database_file.stat().st_size
    largest = 0
    for n in range(600):  # ~10 MB of rows: more than twice the size that starts a checkpoint
        with engine.begin() as conn:
            conn.execute(counters.insert().values(id=100 + n, name="x" * 16_000, value=n))
        largest = max(largest, wal.stat().st_size)
        if n == 40:
            # SQLite's own checkpoint is off and the WAL is still small: nothing copied yet.
            assert database_file.stat().st_size == before
    gate = gate_of(engine)
    assert gate is not None and gate.checkpointer is not None and gate.checkpointer.is_alive()
    assert gate.wait_for_checkpoints()
    assert database_file.stat().st_size > before + 300 * 16_000  # copied into the database
    # Reset once past the bound: it never grew beyond what the writers themselves allow, and
    # once the thread has caught up it is back under the bound.
    assert largest < WAL_FORCE_FACTOR * WAL_CHECKPOINT_BYTES + 256 * 1024
    assert wal.stat().st_size <= WAL_CHECKPOINT_BYTES


@pytest.fixture
def postgres_database(test_databases: conftest.TestDatabases) -> Iterator[Database]:
    """A PostgreSQL database of its own (SQLite has no server to close connections)."""
    if "postgresql" not in BACKENDS or not (REQUIRE_POSTGRES or _postgres_reachable()):
        pytest.skip("PostgreSQL is not among the backends under test")
    database = test_databases.create("postgresql")
    yield database
    database.dispose()


def test_a_connection_the_server_closed_is_replaced_before_use(
    postgres_database: Database,
) -> None:
    fresh_database = postgres_database
    with fresh_database.session_scope() as session:
        first = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with fresh_database.session_scope() as session:  # a healthy connection is reused
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() == first
    other = create_engine(fresh_database.engine.url)  # not the pool under test
    with other.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        admin.commit()
    other.dispose()
    time.sleep(0.2)  # the server's goodbye reaches the pooled connection's socket
    with fresh_database.session_scope() as session:  # no error: the pool replaced it
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != first


def test_a_step_whose_flush_failed_is_undone_alone_and_the_unit_goes_on(db: Session) -> None:
    """A flush that fails inside `attempt` leaves SQLAlchemy's savepoint deactivated, not
    rolled back; `attempt` rolls it back, so the unit of work can read on and commit (before,
    the session stayed unusable: PendingRollbackError, a 500 in the GovStack applicant race)."""
    from sqlalchemy import func, select

    from tongban.govstack.models import GovstackApplicant
    from tongban.platform.db.uow import attempt

    db.add(GovstackApplicant(client_id=1, applicant_ref="x", account_id=1))
    db.flush()
    with pytest.raises(IntegrityError), attempt(db):
        db.add(GovstackApplicant(client_id=1, applicant_ref="x", account_id=2))
        db.flush()
    assert db.scalar(select(func.count()).select_from(GovstackApplicant)) == 1
    db.add(GovstackApplicant(client_id=1, applicant_ref="y", account_id=3))
    db.flush()
    assert db.scalar(select(func.count()).select_from(GovstackApplicant)) == 2


def test_write_now_updates_as_sqlalchemy_does_after_what_is_unflushed(
    db: Session, backend: str
) -> None:
    # A prebuilt UPDATE, every value a parameter, runs on the driver's cursor on both
    # databases; what the session holds unflushed is written first, so the UPDATE sees it.
    from tongban.platform.db.fastpath import direct_sql

    insert_now(db, _event("write-now-1"))
    db.add(_event("write-now-2"))  # not flushed yet
    statement = (
        update(Event)
        .where(Event.uid.in_([bindparam("one"), bindparam("two")]))
        .values(reason=bindparam("why"), data=bindparam("what"))
    )
    params = {"one": "write-now-1", "two": "write-now-2", "why": "因为", "what": {"n": 2}}
    direct_sql.write_now(db, statement, params)
    db.expire_all()
    rows = db.scalars(select(Event).where(Event.uid.like("write-now-%")).order_by(Event.uid))
    assert [(e.uid, e.reason, e.data) for e in rows] == [
        ("write-now-1", "因为", {"n": 2}),
        ("write-now-2", "因为", {"n": 2}),
    ]
    assert direct_sql._QUERIES[("write", statement, backend, tuple(params))] is not None
