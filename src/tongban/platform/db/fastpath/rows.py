"""New rows stored at once: new_row builds them, insert_now and insert_together INSERT them
(on PostgreSQL directly, see direct_sql) and attach them to the session as persistent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from tongban.platform.db import Base
from tongban.platform.db.fastpath.cache import BoundedCache
from tongban.platform.db.fastpath.direct_sql import DirectStatement, compiled_direct, runs_direct

# INSERT statements by (table, conflict columns, dialect): built once, so each use costs only
# the execution. See insert_now.
_INSERTS: BoundedCache[Any] = BoundedCache()


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


_DIRECT: BoundedCache[DirectStatement | None] = BoundedCache()


def _direct_insert(
    key: tuple[Any, ...], statement: Any, names: tuple[str, ...], dialect: Dialect
) -> DirectStatement | None:
    """The direct form of `statement` for these column names, or None to leave it to
    SQLAlchemy (not psycopg, or the statement needs defaults computed or names escaped)."""

    def build() -> DirectStatement | None:
        if not runs_direct(dialect):
            return None
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        return compiled_direct(compiled, names, dialect)

    return _DIRECT.get((*key, names), build)


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


def _insert_statement(plan: _InsertPlan, unless_duplicate: Sequence[str], dialect: str) -> Any:
    if unless_duplicate and dialect in ("postgresql", "sqlite"):
        from sqlalchemy.dialects import postgresql, sqlite

        dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement: Any = dialect_insert(plan.table).on_conflict_do_nothing(
            index_elements=list(unless_duplicate)
        )
    else:
        statement = insert(plan.table)
    return statement.returning(plan.table.c[plan.pk_column])


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
    statement = _INSERTS.get(key, lambda: _insert_statement(plan, unless_duplicate, dialect))
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
    direct = _TOGETHER.get(
        key, lambda: _together_statement(prepared, unless_duplicate, connection.dialect)
    )
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


_TOGETHER: BoundedCache[DirectStatement | None] = BoundedCache()


def _together_statement(
    prepared: list[tuple[_InsertPlan, dict[str, Any], dict[str, Any]]],
    unless_duplicate: Sequence[str],
    dialect: Dialect,
) -> DirectStatement | None:
    """WITH r0 AS (INSERT ... ON CONFLICT DO NOTHING RETURNING id), r1 AS (INSERT ... SELECT
    ... FROM r0 RETURNING id), ... SELECT the ids: the others are inserted only with the first
    (PostgreSQL only: on SQLite one INSERT after another costs no round trip)."""
    if dialect.name != "postgresql" or not runs_direct(dialect):
        return None

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
    return compiled_direct(statement.compile(dialect=dialect), names, dialect)
