"""SQLAlchemy-compiled statements run on the driver's own cursor (psycopg's raw cursor, or
sqlite3's): the few that every request, submission or exchange runs, where SQLAlchemy's
execution costs as much as the statement."""

from __future__ import annotations

import re
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeAlias, cast

import psycopg
from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase

from tongban.platform.db.fastpath.cache import BoundedCache

# A SELECT of any columns (SQLAlchemy 2.1 types a Select by each column's type).
AnySelect: TypeAlias = Select[*tuple[Any, ...]]


def runs_direct(dialect: Dialect) -> bool:
    """Whether statements on this dialect can run directly (PostgreSQL through psycopg,
    SQLite through sqlite3)."""
    return (dialect.name, dialect.driver) in (("postgresql", "psycopg"), ("sqlite", "pysqlite"))


@dataclass(frozen=True)
class DirectStatement:
    """A compiled statement (an INSERT ... RETURNING, or a SELECT by a key) run on the
    driver's cursor.

    Why not Connection.execute: for these statements SQLAlchemy's execution (a context, its
    parameters, a result object) cost as much CPU as the driver sending the statement and
    reading the answer (on SQLite an INSERT of an event 100 µs through SQLAlchemy, 45 µs
    here; docs/benchmarks.md, Exchange). The SQL and the bind and result processors are
    SQLAlchemy's own, compiled once. On PostgreSQL its `%(name)s` placeholders become `$1`:
    psycopg's RawCursor sends that as it is, where its ordinary cursor parses the query on
    every execution once it has more than 50 parameters. On SQLite the engine's
    before/after_cursor_execute listeners are called as SQLAlchemy calls them, so the write
    gate (sqlite_gate.py) takes the write lock before the first write as it always does. Only
    the execution is done here; a driver error is raised as SQLAlchemy's.
    """

    sql: str
    processors: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    # For a SELECT: each column's result processor, and the row's type (named fields).
    results: tuple[Callable[[Any], Any] | None, ...] = ()
    row_type: Callable[..., Any] | None = None
    sqlite: bool = False

    def run(
        self, connection: Connection, values: dict[str, Any], *, whole_row: bool = False
    ) -> Any:
        """Execute with `values` (by bind name); the first column of the row (or the row)."""
        params = [
            values[name] if process is None else process(values[name])
            for name, process in self.processors
        ]
        row = (
            self._sqlite_rows(connection, params, every=False)
            if self.sqlite
            else self._psycopg_row(connection, params)
        )
        if row is not None and self.row_type is not None:
            return self._typed(row)
        if row is None or whole_row:
            return row
        return row[0]

    def run_all(self, connection: Connection, values: dict[str, Any]) -> list[Any]:
        """Every row of a SELECT (SQLite only: read_all leaves PostgreSQL's to SQLAlchemy, as
        psycopg's raw cursor path here reads one row)."""
        assert self.sqlite, "run_all is SQLite's"
        params = [
            values[name] if process is None else process(values[name])
            for name, process in self.processors
        ]
        return [self._typed(row) for row in self._sqlite_rows(connection, params, every=True)]

    def _typed(self, row: Sequence[Any]) -> Any:
        assert self.row_type is not None
        return self.row_type(
            *(
                value if process is None else process(value)
                for value, process in zip(row, self.results, strict=True)
            )
        )

    def _psycopg_row(self, connection: Connection, params: list[Any]) -> Any:
        driver = cast(psycopg.Connection[Any], connection.connection.driver_connection)
        try:
            with psycopg.RawCursor(driver) as cursor:
                cursor.execute(self.sql, params)
                return cursor.fetchone() if cursor.description is not None else None
        except psycopg.Error as exc:
            raise DBAPIError.instance(
                self.sql, params, exc, psycopg.Error, dialect=connection.dialect
            ) from exc

    def _sqlite_rows(self, connection: Connection, params: list[Any], *, every: bool) -> Any:
        driver = cast(sqlite3.Connection, connection.connection.driver_connection)
        cursor = driver.cursor()
        sql: str = self.sql
        dispatch = connection.dispatch
        try:
            for listener in dispatch.before_cursor_execute:  # the write gate among them
                sql, params = listener(connection, cursor, sql, params, None, False)
            cursor.execute(sql, params)
            # All read at once: a statement is finished only when its rows are (a RETURNING
            # left unread would keep the write open and make the COMMIT fail).
            rows = cursor.fetchall()
            for listener in dispatch.after_cursor_execute:
                listener(connection, cursor, sql, params, None, False)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(
                sql, params, exc, sqlite3.Error, dialect=connection.dialect
            ) from exc
        finally:
            cursor.close()
        if every:
            return rows
        return rows[0] if rows else None


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def compiled_direct(
    compiled: Any, names: Sequence[str], dialect: Dialect
) -> DirectStatement | None:
    """The direct form of a compiled statement whose binds are exactly `names`, or None."""
    if compiled.escaped_bind_names or set(compiled.binds) != set(names):
        return None
    sql: str = compiled.string
    if "POSTCOMPILE" in sql:
        return None  # an expanding IN list: SQLAlchemy renders it at each execution
    if dialect.name == "sqlite":
        if not compiled.positional:
            return None
        order: Sequence[str] = compiled.positiontup
        processors = _processors(compiled, order, dialect)
        return DirectStatement(sql=sql, processors=processors, sqlite=True)
    if compiled.positional:
        return None
    position = {name: number for number, name in enumerate(names, start=1)}
    if "%%" in sql or any(name not in position for name in _PLACEHOLDER.findall(sql)):
        return None  # an escaped percent sign or a bind we do not send: leave it to SQLAlchemy
    return DirectStatement(
        sql=_PLACEHOLDER.sub(lambda found: f"${position[found.group(1)]}", sql),
        processors=_processors(compiled, names, dialect),
    )


def _processors(
    compiled: Any, names: Sequence[str], dialect: Dialect
) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    return tuple(
        (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name in names
    )


_QUERIES: BoundedCache[DirectStatement | None] = BoundedCache()


def fetch_one(session: Session, statement: AnySelect, params: dict[str, Any]) -> Any:
    """The row of a prebuilt SELECT by a unique key (or None), its columns by name.

    For the queries every request or exchange runs (the caller by their credential, a case's
    view): run on the driver's cursor, with SQLAlchemy's SQL and its result processors, as
    insert_now runs INSERTs and for the same reason.
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
    """Every row of a prebuilt SELECT (read_one's way, for several rows), columns by name;
    run directly on SQLite (psycopg's raw cursor path reads one row: SQLAlchemy runs it)."""
    _autoflush(session)
    connection = session.connection()
    key = ("all", statement, connection.dialect.name, tuple(params))
    direct = _QUERIES.get(
        key,
        lambda: (
            _direct_query(statement, tuple(params), connection.dialect)
            if connection.dialect.name == "sqlite"
            else None
        ),
    )
    if direct is None:
        return list(connection.execute(statement, params).all())
    return direct.run_all(connection, params)


def write_now(session: Session, statement: UpdateBase, params: dict[str, Any]) -> None:
    """A prebuilt UPDATE (or DELETE) run at once on the driver's cursor, after what the
    session holds unflushed (as a flush would order it): for the one a fetch runs, where
    SQLAlchemy's execution cost twice the statement. Every value in it is a bind parameter
    given in `params` (a constant built in goes through SQLAlchemy instead)."""
    if session.new or session.dirty or session.deleted:
        session.flush()
    connection = session.connection()
    dialect = connection.dialect
    key = ("write", statement, dialect.name, tuple(params))

    def build() -> DirectStatement | None:
        if not runs_direct(dialect):
            return None
        return compiled_direct(statement.compile(dialect=dialect), tuple(params), dialect)

    direct = _QUERIES.get(key, build)
    if direct is None:
        connection.execute(statement, params)
    else:
        direct.run(connection, params)


def _autoflush(session: Session) -> None:
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
