"""Unit-of-work helpers on a Session: a per-transaction memo, after-commit actions, and
storing new rows at once (insert_now)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, event, insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from tongban.db import Base

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class _InsertPlan:
    table: Table
    # (attribute, column name, whether an unset attribute is simply NULL)
    columns: tuple[tuple[str, str, bool], ...]
    version: tuple[str, str] | None  # (attribute, column) of the version counter
    pk_attribute: str
    pk_column: str


@lru_cache(maxsize=64)
def _insert_plan(cls: type[Base]) -> _InsertPlan:
    mapper = sa_inspect(cls)
    table: Table = cls.__table__  # type: ignore[assignment]
    columns = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        plain = column.default is None and column.server_default is None
        columns.append((prop.key, column.name, plain and not column.primary_key))
    version = None
    if mapper.version_id_col is not None:
        version = (
            mapper.get_property_by_column(mapper.version_id_col).key,
            mapper.version_id_col.name,
        )
    (pk,) = table.primary_key.columns
    return _InsertPlan(
        table=table,
        columns=tuple(columns),
        version=version,
        pk_attribute=mapper.get_property_by_column(pk).key,
        pk_column=pk.name,
    )


@dataclass(frozen=True)
class _DirectInsert:
    """A compiled INSERT ... RETURNING run on the driver's cursor (PostgreSQL only).

    Why not Connection.execute: for these few-row INSERTs SQLAlchemy's execution (a context,
    its parameters, a result object) cost as much CPU as psycopg sending the statement and
    reading the answer. The SQL and the bind processors are SQLAlchemy's own, compiled once;
    only the execution is done here, and a driver error is raised as SQLAlchemy's.
    """

    sql: str
    processors: tuple[tuple[str, Callable[[Any], Any] | None], ...]

    def run(self, connection: Connection, values: dict[str, Any]) -> Any:
        """Execute with `values` (by column name) and return the first column of the row."""
        params = {
            name: values[name] if process is None else process(values[name])
            for name, process in self.processors
        }
        driver_error = connection.dialect.loaded_dbapi.Error
        cursor = connection.connection.cursor()
        try:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        except driver_error as exc:
            raise DBAPIError.instance(
                self.sql, params, exc, driver_error, dialect=connection.dialect
            ) from exc
        finally:
            cursor.close()
        return None if row is None else row[0]


_DIRECT: dict[tuple[Any, ...], _DirectInsert | None] = {}


def _direct_insert(
    key: tuple[Any, ...], statement: Any, names: tuple[str, ...], dialect: Dialect
) -> _DirectInsert | None:
    """The direct form of `statement` for these column names, or None to leave it to
    SQLAlchemy (not psycopg, or the statement needs defaults computed or names escaped)."""
    cache_key = (*key, names)
    if cache_key in _DIRECT:
        return _DIRECT[cache_key]
    direct = None
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        if (
            not compiled.positional
            and not compiled.escaped_bind_names
            and set(compiled.binds) == set(names)
        ):
            direct = _DirectInsert(
                sql=compiled.string,
                processors=tuple(
                    (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                    for name in names
                ),
            )
    _DIRECT[cache_key] = direct
    return direct


RowT = TypeVar("RowT", bound=Base)


def new_row(cls: type[RowT], /, **values: Any) -> RowT:
    """A new `cls` object with `values` set as if loaded, for insert_now to store at once.

    What `cls(**values)` makes, without an attribute event per value: insert_now sends every
    attribute that is set and then forgets the changes, so there is nothing to track. On a case
    with its forty columns this is half the cost of the constructor. Collections given (a
    relationship's empty list) are set loaded too, so reading them needs no query.
    """
    obj: RowT = cls.__mapper__.class_manager.new_instance()
    relationships = cls.__mapper__.relationships
    known = sa_inspect(obj).dict
    for key, value in values.items():
        if key in relationships:
            set_committed_value(obj, key, value)
        else:
            known[key] = value
    return obj


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
    plan = _insert_plan(type(obj))
    state = sa_inspect(obj)
    known = state.dict
    values: dict[str, Any] = {}
    for attribute, column, null_when_unset in plan.columns:
        if attribute in known:
            values[column] = known[attribute]
        elif null_when_unset:
            known[attribute] = None  # stored as NULL: known without reading it back
    if plan.version is not None and known.get(plan.version[0]) is None:
        known[plan.version[0]] = values[plan.version[1]] = 1
    if values.get(plan.pk_column) is None:
        values.pop(plan.pk_column, None)
    dialect = session.get_bind().dialect.name
    key = (plan.table.name, tuple(unless_duplicate), dialect)
    statement = _INSERTS.get(key)
    if statement is None:
        if unless_duplicate and dialect in ("postgresql", "sqlite"):
            from sqlalchemy.dialects import postgresql, sqlite

            dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = dialect_insert(plan.table).on_conflict_do_nothing(
                index_elements=list(unless_duplicate)
            )
        else:
            statement = insert(plan.table)
        statement = _INSERTS[key] = statement.returning(plan.table.c[plan.pk_column])
    connection = session.connection()
    direct = _direct_insert(key, statement, tuple(values), connection.dialect)
    if direct is None:
        new_key = connection.execute(statement, values).scalar()
    else:
        new_key = direct.run(connection, values)
    if new_key is None:
        return False
    known[plan.pk_attribute] = new_key
    make_transient_to_detached(obj)
    session.add(obj)
    return True
