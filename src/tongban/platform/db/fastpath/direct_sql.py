"""SQLAlchemy-compiled statements run on psycopg's raw cursor: the few that every request or
every submission runs, where SQLAlchemy's execution costs as much as the statement."""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeAlias, cast

import psycopg
from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tongban.platform.db.fastpath.cache import BoundedCache

# A SELECT of any columns (SQLAlchemy 2.1 types a Select by each column's type).
AnySelect: TypeAlias = Select[*tuple[Any, ...]]


def runs_direct(dialect: Dialect) -> bool:
    """Whether statements on this dialect can run directly (PostgreSQL through psycopg)."""
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


@dataclass(frozen=True)
class DirectStatement:
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


def compiled_direct(
    compiled: Any, names: Sequence[str], dialect: Dialect
) -> DirectStatement | None:
    """The direct form of a compiled statement whose binds are exactly `names`, or None."""
    if compiled.positional or compiled.escaped_bind_names or set(compiled.binds) != set(names):
        return None
    position = {name: number for number, name in enumerate(names, start=1)}
    sql: str = compiled.string
    if "%%" in sql or any(name not in position for name in _PLACEHOLDER.findall(sql)):
        return None  # an escaped percent sign or a bind we do not send: leave it to SQLAlchemy
    return DirectStatement(
        sql=_PLACEHOLDER.sub(lambda found: f"${position[found.group(1)]}", sql),
        processors=tuple(
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in names
        ),
    )


_QUERIES: BoundedCache[DirectStatement | None] = BoundedCache()


def fetch_one(session: Session, statement: AnySelect, params: dict[str, Any]) -> Any:
    """The row of a prebuilt SELECT by a unique key (or None), its columns by name.

    For the query every request runs (the caller by their credential): on PostgreSQL it is run
    on psycopg's raw cursor, with SQLAlchemy's SQL and its result processors, as insert_now
    runs INSERTs and for the same reason.
    """
    connection = session.connection()
    key = (statement, connection.dialect.name, tuple(params))  # kept alive: prebuilt ones only
    direct = _QUERIES.get(key, lambda: _direct_query(statement, tuple(params), connection.dialect))
    if direct is None:
        return connection.execute(statement, params).one_or_none()
    return direct.run(connection, params)


def _direct_query(
    statement: AnySelect, names: tuple[str, ...], dialect: Dialect
) -> DirectStatement | None:
    if not runs_direct(dialect):
        return None
    direct = compiled_direct(statement.compile(dialect=dialect), names, dialect)
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


def read_one(session: Session, statement: AnySelect, params: dict[str, Any]) -> Any:
    """fetch_one, after the session's unflushed changes are flushed as the ORM's autoflush
    would before a query: for the prebuilt reads of a hot path that other code may call amid
    its own changes (a case's view, a name for the tracker).

    Why prebuilt: building `select(...).where(...)` and running it through the ORM costs
    130-190 µs a read here, the statement built once and run on the connection 35-47 µs
    (bench/exchange_fetch.py; docs/benchmarks.md, Exchange)."""
    _autoflush(session)
    return fetch_one(session, statement, params)


def read_all(session: Session, statement: AnySelect, params: dict[str, Any]) -> list[Any]:
    """Every row of a prebuilt SELECT (read_one's way, for several rows), columns by name."""
    _autoflush(session)
    return list(session.connection().execute(statement, params).all())


def _autoflush(session: Session) -> None:
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
