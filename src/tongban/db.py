"""Declarative base, engine and session factory; one transaction per unit of work."""

from __future__ import annotations

import logging
import os
import select
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    MetaData,
    Table,
    TypeDecorator,
    create_engine,
    event,
    insert,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker

try:
    import fcntl
except ImportError:  # not on Windows: threads of a process still queue
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every table; constraint names follow one convention on every database."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


_MEMO = "tongban_transaction_memo"


def transaction_memo(session: Session) -> dict[str, Any]:
    """A dict for facts read once per transaction (the catalog revision, the calendar).

    It is emptied when the session's transaction ends and when any savepoint rolls back, so
    nothing read in it outlives what it was read in; code that changes such a fact in the
    transaction pops its key.
    """
    if not session.in_transaction():
        session.begin()  # the memo belongs to a transaction, even before its first query
    memo: dict[str, Any] = session.info.setdefault(_MEMO, {})
    return memo


_AFTER_COMMIT = "tongban_after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction has committed; never if it rolls back.

    For what cannot be taken back, such as an SMS: a text about a case that was never stored
    must not go out. A failing action is logged and does not undo the commit.
    """
    if not session.in_transaction():
        session.begin()  # the action belongs to a transaction, even before its first statement
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, []):
        try:
            action()
        except Exception:
            log.exception("an after-commit action failed")


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the session's own transaction, not a flush or savepoint
        session.info.pop(_MEMO, None)
        session.info.pop(_AFTER_COMMIT, None)  # rolled back: the actions never run


@event.listens_for(Session, "after_soft_rollback")
def _forget_at_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_MEMO, None)


# INSERT statements by (table, conflict columns, dialect): built once, so each use costs only
# the execution. See insert_now.
_INSERTS: dict[tuple[str, tuple[str, ...], str], Any] = {}


def insert_now(session: Session, obj: Base, *, unless_duplicate: Sequence[str] = ()) -> bool:
    """INSERT one new ORM object at once and attach it to the session as persistent.

    What `session.add(obj); session.flush()` does, for the rows of the hot paths (a case, its
    events and messages), at 0.6-0.75x the CPU of the unit of work and 0.4-0.65x of a flush in
    a savepoint (bench/orm_insert.py): a cached Core INSERT ... RETURNING.
    Only the attributes set on `obj` are sent (the version column starts at 1); columns left
    unset are NULL, or take their defaults and load when read. With `unless_duplicate` (the
    columns of a unique key), a row that would duplicate one already stored is not inserted,
    `obj` stays transient and the result is False: a race is answered without a failed
    statement, so no savepoint is needed.
    """
    mapper = sa_inspect(type(obj))
    state = sa_inspect(obj)
    table: Table = type(obj).__table__  # type: ignore[assignment]
    # Attribute key -> column name, for the attributes set on the object.
    values: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in state.dict:
            values[column.name] = state.dict[prop.key]
        elif column.default is None and column.server_default is None and not column.primary_key:
            state.dict[prop.key] = None  # stored as NULL: known without reading it back
    if mapper.version_id_col is not None:
        version = mapper.get_property_by_column(mapper.version_id_col).key
        if state.dict.get(version) is None:
            state.dict[version] = values[mapper.version_id_col.name] = 1
    (pk,) = table.primary_key.columns
    pk_attribute = mapper.get_property_by_column(pk).key
    if values.get(pk.name) is None:
        values.pop(pk.name, None)
    dialect = session.get_bind().dialect.name
    key = (table.name, tuple(unless_duplicate), dialect)
    statement = _INSERTS.get(key)
    if statement is None:
        if unless_duplicate and dialect in ("postgresql", "sqlite"):
            from sqlalchemy.dialects import postgresql, sqlite

            dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = dialect_insert(table).on_conflict_do_nothing(
                index_elements=list(unless_duplicate)
            )
        else:
            statement = insert(table)
        statement = _INSERTS[key] = statement.returning(pk)
    new_key = session.connection().execute(statement, values).scalar()
    if new_key is None:
        return False
    state.dict[pk_attribute] = new_key
    make_transient_to_detached(obj)
    session.add(obj)
    return True


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite never sends BEGIN itself in this mode; the "begin" listener below does, so that
    # transactions (and SAVEPOINTs, which tests and nested units of work rely on) are real.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Checkpoints run outside the write lock instead (_SqliteGate.commit): left to SQLite, the
    # commit that crosses 1,000 pages copies them and syncs the file while every writer waits.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


_GATE = "tongban_sqlite_gate"
_READING = "reading"  # a deferred transaction that has only read so far: holds no lock


def _is_read(statement: str) -> bool:
    return statement.lstrip()[:6].upper() == "SELECT"


class _SqliteGate:
    """One writing transaction at a time per SQLite database file, across processes.

    SQLite admits one writer; a connection that finds the lock taken polls with sleeps that grow
    to 100 ms (its busy handler), so under concurrent requests the slowest waited seconds.
    Writers therefore queue here instead: threads of a process on a lock, processes (uvicorn
    workers) on an advisory file lock polled every half millisecond.

    Reading takes no lock: a transaction begins deferred and reads in parallel with everyone
    else. At its first write (any statement but a SELECT, a SAVEPOINT, or a SELECT ... FOR
    UPDATE) it takes the gate, ends its read snapshot and begins IMMEDIATE, so the write can
    never fail on a stale snapshot. What it read before that is then as PostgreSQL's READ
    COMMITTED would have it: the writes that depend on a read are guarded there the same way
    (version columns, unique keys, a lock taken by an UPDATE first), so both databases behave
    alike, and the second core is no longer idle while one request holds the write lock.
    """

    def __init__(self, database: str | None) -> None:
        self.lock = threading.Lock()
        self.lock_for_count = threading.Lock()
        self.commits = 0
        self.fd: int | None = None
        if fcntl is not None and database and database != ":memory:":
            try:
                self.fd = os.open(f"{database}-gate", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                self.fd = None  # e.g. a read-only directory: threads still queue

    def _file_lock(self, deadline: float) -> bool:
        if self.fd is None or fcntl is None:
            return False
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False  # SQLite's busy timeout decides, as without the gate
                time.sleep(0.0005)

    def begin(self, connection: Any) -> None:
        """SQLAlchemy's "begin": a deferred transaction, reading without any lock."""
        connection.connection.driver_connection.execute("BEGIN")
        connection.info[_GATE] = _READING

    def before_execute(self, connection: Any, clause: Any, *_: Any) -> None:
        """SELECT ... FOR UPDATE, which SQLite cannot say, takes the write lock instead."""
        if (
            connection.info.get(_GATE) is _READING
            and getattr(clause, "_for_update_arg", None) is not None
        ):
            self._start_writing(connection)

    def before_cursor_execute(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        """The first statement that may write takes the write lock before it runs."""
        if connection.info.get(_GATE) is _READING and not _is_read(statement):
            self._start_writing(connection)

    def _start_writing(self, connection: Any) -> None:
        deadline = time.monotonic() + _SQLITE_TIMEOUT_S
        # A thread holding another transaction on this engine (nested sessions) must not wait
        # for itself forever: after the busy timeout it goes on and SQLite decides, as before.
        held = self.lock.acquire(timeout=_SQLITE_TIMEOUT_S)
        filed = held and self._file_lock(deadline)
        raw = connection.connection.driver_connection
        try:
            try:
                raw.execute("COMMIT")  # end the read snapshot: it may be older than the last write
            except sqlite3.OperationalError:
                # A result still being read keeps the snapshot open: write in it, and SQLite
                # refuses only if another writer committed since it began.
                pass
            else:
                raw.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release(held, filed)
            connection.info[_GATE] = _READING
            raise
        connection.info[_GATE] = (held, filed)

    def commit(self, connection: Any) -> None:
        """SQLAlchemy's "commit": commit here and open the gate to the next writer."""
        # The event comes before the driver commits: committing here means the next writer
        # does not find the database still locked. The driver's own commit has nothing left.
        raw = connection.connection.driver_connection
        wrote = connection.info.get(_GATE, _READING) is not _READING
        try:
            raw.execute("COMMIT")
        finally:
            self.end(connection)
        if wrote:
            self._checkpoint_now_and_then(raw)

    def _checkpoint_now_and_then(self, raw: Any) -> None:
        # A PASSIVE checkpoint copies what no reader still needs from the WAL into the database
        # without taking the write lock: writers go on meanwhile. Every so many commits of this
        # process keeps the WAL small (it would otherwise grow until the last connection closes).
        with self.lock_for_count:
            self.commits += 1
            due = self.commits % _CHECKPOINT_EVERY == 0
        if due:
            try:
                raw.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
            except sqlite3.Error:
                log.warning("WAL checkpoint failed; the next one will try again", exc_info=True)

    def end(self, connection: Any) -> None:
        """After a commit or a rollback: release what the transaction held."""
        state = connection.info.pop(_GATE, _READING)
        if state is not _READING:
            self._release(*state)

    def _release(self, held: bool, filed: bool) -> None:
        if filed and self.fd is not None and fcntl is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        if held:
            self.lock.release()


_SQLITE_TIMEOUT_S = 10
_CHECKPOINT_EVERY = 100  # writing commits of a process between two checkpoints


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": _SQLITE_TIMEOUT_S}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        gate = _SqliteGate(make_url(url).database)
        event.listen(engine, "begin", gate.begin)
        event.listen(engine, "before_execute", gate.before_execute)
        event.listen(engine, "before_cursor_execute", gate.before_cursor_execute)
        event.listen(engine, "commit", gate.commit)
        event.listen(engine, "rollback", gate.end)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    if make_url(url).get_backend_name() == "postgresql" and not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkout", _drop_closed_connection)
    return engine


def _drop_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout: replace a connection the server has closed, without a round trip.

    SQLAlchemy's pool_pre_ping sends a query at every checkout: one round trip in seven of a
    submission. A server that restarts or ends a connection says so on its socket (an error,
    then the end of the stream), and an idle connection otherwise has nothing to read: one
    with something to read is replaced (the pool retries the checkout) before any request
    uses it. A rare server notice to an idle connection costs a reconnect, nothing more.
    """
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:  # not psycopg: nothing to look at
        return
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("connection closed")
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except (OSError, ValueError) as exc:
        raise DisconnectionError("connection lost") from exc
    if readable:
        raise DisconnectionError("the server spoke to an idle connection: it is likely closing")


class Database:
    """An engine and its session factory, built explicitly (never at import time)."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """One unit of work: commit at the end, roll back on any error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def migrations_dir() -> str:
    """Where the Alembic scripts live (the repository's migrations/ folder)."""
    from pathlib import Path

    return str(Path(__file__).resolve().parents[2] / "migrations")


def upgrade_database(url: str, revision: str = "head", *, engine: Engine | None = None) -> None:
    """Apply the Alembic migrations to the database at `url` (SQLite or PostgreSQL)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", migrations_dir())
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    else:
        command.upgrade(config, revision)
