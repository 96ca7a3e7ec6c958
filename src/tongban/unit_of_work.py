"""Unit-of-work helpers on a Session: a per-transaction memo, after-commit actions, and
storing new rows at once (insert_now)."""

from __future__ import annotations

import logging
import re
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Select, Table, event, insert
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
class _DirectStatement:
    """A compiled statement (an INSERT ... RETURNING, or the caller's SELECT) run on psycopg's
    raw cursor (PostgreSQL only).

    Why not Connection.execute: for these one-row statements SQLAlchemy's execution (a context,
    its parameters, a result object) cost as much CPU as psycopg sending the statement and
    reading the answer. The SQL and the bind processors are SQLAlchemy's own, compiled once,
    with its `%(name)s` placeholders turned into PostgreSQL's `$1`: psycopg's RawCursor sends
    that as it is, where its ordinary cursor parses the query on every execution once it has
    more than 50 parameters. Only the execution is done here; a driver error is raised as
    SQLAlchemy's.
    """

    sql: str
    processors: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    # For a SELECT: each column's result processor, and the row's type (named fields).
    results: tuple[Callable[[Any], Any] | None, ...] = ()
    row_type: Callable[..., Any] | None = None

    def run(
        self, connection: Connection, values: dict[str, Any], *, whole_row: bool = False
    ) -> Any:
        """Execute with `values` (by bind name); the first column of the row (or the row)."""
        import psycopg

        params = [
            values[name] if process is None else process(values[name])
            for name, process in self.processors
        ]
        driver = cast(psycopg.Connection[Any], connection.connection.driver_connection)
        try:
            with psycopg.RawCursor(driver) as cursor:
                cursor.execute(self.sql, params)
                row = cursor.fetchone()
        except psycopg.Error as exc:
            raise DBAPIError.instance(
                self.sql, params, exc, psycopg.Error, dialect=connection.dialect
            ) from exc
        if row is not None and self.row_type is not None:
            return self.row_type(
                *(
                    value if process is None else process(value)
                    for value, process in zip(row, self.results, strict=True)
                )
            )
        if row is None or whole_row:
            return row
        return row[0]


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _compiled_direct(
    compiled: Any, names: Sequence[str], dialect: Dialect
) -> _DirectStatement | None:
    """The direct form of a compiled statement whose binds are exactly `names`, or None."""
    if compiled.positional or compiled.escaped_bind_names or set(compiled.binds) != set(names):
        return None
    position = {name: number for number, name in enumerate(names, start=1)}
    sql: str = compiled.string
    if "%%" in sql or any(name not in position for name in _PLACEHOLDER.findall(sql)):
        return None  # an escaped percent sign or a bind we do not send: leave it to SQLAlchemy
    return _DirectStatement(
        sql=_PLACEHOLDER.sub(lambda found: f"${position[found.group(1)]}", sql),
        processors=tuple(
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in names
        ),
    )


_DIRECT: dict[tuple[Any, ...], _DirectStatement | None] = {}


def _direct_insert(
    key: tuple[Any, ...], statement: Any, names: tuple[str, ...], dialect: Dialect
) -> _DirectStatement | None:
    """The direct form of `statement` for these column names, or None to leave it to
    SQLAlchemy (not psycopg, or the statement needs defaults computed or names escaped)."""
    cache_key = (*key, names)
    if cache_key in _DIRECT:
        return _DIRECT[cache_key]
    direct = None
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        direct = _compiled_direct(compiled, names, dialect)
    _DIRECT[cache_key] = direct
    return direct


_QUERIES: dict[tuple[Any, ...], _DirectStatement | None] = {}


def fetch_one(session: Session, statement: Select[Any], params: dict[str, Any]) -> Any:
    """The row of a prebuilt SELECT by a unique key (or None), its columns by name.

    For the query every request runs (the caller by their credential): on PostgreSQL it is run
    on psycopg's raw cursor, with SQLAlchemy's SQL and its result processors, as insert_now
    runs INSERTs and for the same reason.
    """
    connection = session.connection()
    key = (statement, connection.dialect.name, tuple(params))  # kept alive: prebuilt ones only
    if key not in _QUERIES:
        _QUERIES[key] = _direct_query(statement, tuple(params), connection.dialect)
    direct = _QUERIES[key]
    if direct is None:
        return connection.execute(statement, params).one_or_none()
    return direct.run(connection, params)


def _direct_query(
    statement: Select[Any], names: tuple[str, ...], dialect: Dialect
) -> _DirectStatement | None:
    if not (dialect.name == "postgresql" and dialect.driver == "psycopg"):
        return None
    direct = _compiled_direct(statement.compile(dialect=dialect), names, dialect)
    if direct is None:
        return None
    columns = list(statement.selected_columns)
    fields = list(statement.selected_columns.keys())
    if len(set(fields)) != len(fields) or not all(field.isidentifier() for field in fields):
        return None  # rows by position only: leave them to SQLAlchemy
    return replace(
        direct,
        results=tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ),
        row_type=namedtuple("Row", fields),
    )


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


def _values_of(obj: Base) -> tuple[_InsertPlan, dict[str, Any], dict[str, Any]]:
    """The plan of obj's table, obj's state dict and the column values to INSERT.

    Unset columns without a default are NULL: noted as known so that reading them needs no
    query. The version column starts at 1.
    """
    plan = _insert_plan(type(obj))
    known = sa_inspect(obj).dict
    values: dict[str, Any] = {}
    for attribute, column, null_when_unset in plan.columns:
        if attribute in known:
            values[column] = known[attribute]
        elif null_when_unset:
            known[attribute] = None
    if plan.version is not None and known.get(plan.version[0]) is None:
        known[plan.version[0]] = values[plan.version[1]] = 1
    if values.get(plan.pk_column) is None:
        values.pop(plan.pk_column, None)
    return plan, known, values


def _attach(
    session: Session, obj: Base, plan: _InsertPlan, known: dict[str, Any], key: Any
) -> None:
    known[plan.pk_attribute] = key
    make_transient_to_detached(obj)
    session.add(obj)


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
    plan, known, values = _values_of(obj)
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
    _attach(session, obj, plan, known, new_key)
    return True


def insert_together(
    session: Session, first: Base, then: Sequence[Base], *, unless_duplicate: Sequence[str] = ()
) -> bool:
    """insert_now(first, unless_duplicate=...) and, when it was stored, insert_now of each of
    `then`; on PostgreSQL in one statement.

    For a new case with its event and messages: one round trip instead of one per row, which
    costs the server and the database more than the INSERTs themselves. The rows of `then`
    must not refer to `first` (its key is not known to them). False, with nothing stored,
    when `first` would duplicate a stored row.
    """
    connection = session.connection()
    rows = [first, *then]
    prepared = [_values_of(row) for row in rows]
    key = (
        "together",
        connection.dialect.name,
        tuple(unless_duplicate),
        tuple((plan.table.name, tuple(values)) for plan, _, values in prepared),
    )
    if key not in _TOGETHER:
        _TOGETHER[key] = _together_statement(prepared, unless_duplicate, connection.dialect)
    direct = _TOGETHER[key]
    if direct is None:  # not PostgreSQL: one INSERT after another
        if not insert_now(session, first, unless_duplicate=unless_duplicate):
            return False
        for row in then:
            insert_now(session, row)
        return True
    params = {
        f"r{position}_{column}": value
        for position, (_, _, values) in enumerate(prepared)
        for column, value in values.items()
    }
    keys = direct.run(connection, params, whole_row=True)
    if keys is None or keys[0] is None:
        return False
    for row, (plan, known, _), new_key in zip(rows, prepared, keys, strict=True):
        _attach(session, row, plan, known, new_key)
    return True


_TOGETHER: dict[tuple[Any, ...], _DirectStatement | None] = {}


def _together_statement(
    prepared: list[tuple[_InsertPlan, dict[str, Any], dict[str, Any]]],
    unless_duplicate: Sequence[str],
    dialect: Dialect,
) -> _DirectStatement | None:
    """WITH r0 AS (INSERT ... ON CONFLICT DO NOTHING RETURNING id), r1 AS (INSERT ... SELECT
    ... FROM r0 RETURNING id), ... SELECT the ids: the others are inserted only with the first."""
    if not (dialect.name == "postgresql" and dialect.driver == "psycopg"):
        return None
    from sqlalchemy import bindparam, select
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    def binds(position: int, plan: _InsertPlan, values: dict[str, Any]) -> list[Any]:
        return [
            bindparam(f"r{position}_{column}", type_=plan.table.c[column].type) for column in values
        ]

    plan, _, values = prepared[0]
    head = pg_insert(plan.table).values(dict(zip(values, binds(0, plan, values), strict=True)))
    if unless_duplicate:
        head = head.on_conflict_do_nothing(index_elements=list(unless_duplicate))
    anchor = head.returning(plan.table.c[plan.pk_column].label("id")).cte("r0")
    steps = [anchor]
    for position, (plan, _, values) in enumerate(prepared[1:], start=1):
        rows = select(*binds(position, plan, values)).select_from(anchor)
        step = (
            insert(plan.table)
            .from_select(list(values), rows)
            .returning(plan.table.c[plan.pk_column].label("id"))
        )
        steps.append(step.cte(f"r{position}"))
    statement = select(*(select(step.c.id).scalar_subquery() for step in steps))
    names = [
        f"r{position}_{column}"
        for position, (_, _, values) in enumerate(prepared)
        for column in values
    ]
    return _compiled_direct(statement.compile(dialect=dialect), names, dialect)
