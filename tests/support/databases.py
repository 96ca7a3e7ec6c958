"""Throw-away test databases, migrated once per test session and copied for each use.

A *template* is a database no test touches: the migrated, empty schema, or that schema with a
*seed* committed into it (data a group of tests share: the regions, a catalog, accounts with
their tokens). Each template is built once per session (per xdist worker) and backend, by the
real migrations and the real services; what tests get are copies of it:

- SQLite: the template file, copied through SQLite's backup API;
- PostgreSQL: a schema of the test database, as every test database was before templates. The
  migrations run once, into the template schema, while every statement they send is recorded;
  a copy is a new schema where those statements are replayed, then the template's rows copied.
  Once per session a replay is compared with the migrated template, catalog and contents
  (`_signature`), so a replay that built anything else fails at once. (`CREATE DATABASE …
  TEMPLATE` would copy faster, but every `DROP DATABASE` forces a checkpoint: seconds each on a
  busy server.)

The *shared* copies (one per seed and backend, and one of the empty template) are used by many
tests, each inside a transaction that is rolled back (tests/conftest.py), so none sees another's
writes; at the end of the session each must still hold what it held when handed out, or the
session fails (`TestDatabases.drop_all`).
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any
from unittest import mock

from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from tongban.identity.keys import identity_keys
from tongban.platform.config import Settings
from tongban.platform.db import Database, make_engine, upgrade_database

_real_hash = PasswordHasher.hash
_hashes: dict[tuple[Any, ...], str] = {}


def _hash_once(self: PasswordHasher, password: str | bytes, *, salt: bytes | None = None) -> str:
    parameters = (self.time_cost, self.memory_cost, self.parallelism, self.hash_len, self.type)
    key = (*parameters, self.salt_len, password, salt)
    if key not in _hashes:
        _hashes[key] = _real_hash(self, password, salt=salt)
    return _hashes[key]


@contextmanager
def hashing_once() -> Iterator[None]:
    """Within the block, each password is hashed once per session, by the real Argon2id hasher
    with its real parameters, and that hash reused: Argon2 is slow by design, and fixtures
    create dozens of accounts with one password. Only fixtures use this, around the data they
    build: a hash the code under test makes while a test runs is a fresh one."""
    with mock.patch.object(PasswordHasher, "hash", _hash_once):
        yield


@dataclass(frozen=True, eq=False)
class Seed:
    """Data committed once into a template: `build(session, settings)` writes it (through the
    services) and returns what tests need to know about it (ids, tokens); `base` is the seed
    whose template it starts from. `keys`: the data was written with the seeds' identity keys
    (resident ID hashes, encrypted numbers), so a test over it gets a copy of those keys."""

    name: str
    build: Callable[[Session, Settings], Any]
    base: Seed | None = None
    keys: bool = False

    def lineage(self) -> list[Seed]:
        """This seed and its bases, the seed itself first."""
        chain: list[Seed] = []
        seed: Seed | None = self
        while seed is not None:
            chain.append(seed)
            seed = seed.base
        return chain

    def uses_keys(self) -> bool:
        """Whether this seed or a base wrote data under the seeds' identity keys."""
        return any(seed.keys for seed in self.lineage())


@dataclass
class Seeded:
    """A shared copy on one backend (of a seed's template, or of the empty one), what the
    builds of its seed's lineage returned, and a digest of its contents when handed out."""

    database: Database
    payloads: dict[Seed, Any] = field(default_factory=dict)
    contents: dict[str, str] = field(default_factory=dict)


# Shared copies by engine, so that a fixture handed a session can tell what it holds.
_SEEDED: dict[Engine, Seeded] = {}


def seeded_with(session: Session, seed: Seed) -> Any | None:
    """What `seed`'s build returned when the session's database holds that seed, else None."""
    bind = session.get_bind()
    found = _SEEDED.get(getattr(bind, "engine", bind))
    if found is None or seed not in found.payloads:
        return None
    return found.payloads[seed]


class TestDatabases:
    """Makes and drops the databases of one test session (SQLite files, PostgreSQL schemas)."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, tmp: Path, postgres_url: str) -> None:
        self.tmp = tmp
        self.postgres_url = postgres_url
        self.run = uuid.uuid4().hex[:10]
        self.seed_settings = Settings(data_dir=tmp / "seed-data", database_url="sqlite://")
        self._templates: dict[tuple[str, Seed | None], str] = {}
        self._payloads: dict[tuple[str, Seed], Any] = {}
        self._working: dict[tuple[str, Seed | None], Seeded] = {}
        self._serial = 0
        self._schemas: list[str] = []
        self._migration: list[tuple[str, Any, bool]] = []  # PostgreSQL: what migrating sent

    # --- what the fixtures ask for ---------------------------------------------------------

    def create(self, backend: str) -> Database:
        """A new, migrated, empty database of its own (a copy of the migrated template)."""
        return self._copy(backend, None)

    def shared(self, backend: str, seed: Seed | None = None) -> Database:
        """The session's shared database holding `seed` (or nothing), made once per backend."""
        key = (backend, seed)
        if key not in self._working:
            database = self._copy(backend, seed)
            working = Seeded(database, contents=_contents(database))
            if seed is not None:
                working.payloads = {s: self._payloads[(backend, s)] for s in seed.lineage()}
                _SEEDED[database.engine] = working
            self._working[key] = working
        return self._working[key].database

    def copy_seed_keys(self, data_dir: Path) -> None:
        """Give a test's data directory the identity keys the seeds were written with (made on
        first use, private as the app makes them), so that the seeded resident IDs match and
        decrypt under the test's settings."""
        identity_keys(self.seed_settings)
        source = self.seed_settings.data_dir / "keys"
        target = data_dir / "keys"
        target.mkdir(parents=True, exist_ok=True)
        for key in source.iterdir():
            (target / key.name).write_bytes(key.read_bytes())
            (target / key.name).chmod(0o600)

    def drop_all(self) -> None:
        """Close the shared databases and drop the PostgreSQL schemas made in this run; then
        fail if a shared database does not hold what it held when handed out: some test wrote
        to it outside its rolled-back transaction, and the tests after it saw that."""
        changed: list[str] = []
        try:
            for (backend, seed), working in self._working.items():
                now = _contents(working.database)
                tables = sorted(
                    t
                    for t in now.keys() | working.contents.keys()
                    if now.get(t) != working.contents.get(t)
                )
                if tables:
                    changed.append(f"{backend} {seed.name if seed else '(no seed)'}: {tables}")
        finally:
            for working in self._working.values():
                _SEEDED.pop(working.database.engine, None)
                working.database.dispose()
            self._working.clear()
            self._drop_schemas()
        assert not changed, f"tests changed the shared databases: {changed}"

    def _drop_schemas(self) -> None:
        if not self._schemas:
            return
        admin = create_engine(self.postgres_url, poolclass=NullPool)
        try:
            # One transaction per schema: a DROP ... CASCADE locks every table, index and
            # sequence it drops until the commit, and all the session's schemas in one
            # transaction (some fifty of ~200 objects each) ran out of the server's lock table
            # ("out of shared memory", max_locks_per_transaction).
            for schema in self._schemas:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            admin.dispose()
        self._schemas.clear()

    # --- templates and copies --------------------------------------------------------------

    def _template(self, backend: str, seed: Seed | None) -> str:
        """The template's location (file path or schema name), built on first use."""
        key = (backend, seed)
        if key in self._templates:
            return self._templates[key]
        if seed is None:
            location = self._migrated(backend)
        else:
            base = self._template(backend, seed.base)
            location = self._copy_to(backend, base, "seed", rows=seed.base is not None)
            database = self._database(backend, location, pool=False)
            try:
                with hashing_once(), database.session_scope() as session:
                    self._payloads[(backend, seed)] = seed.build(session, self.seed_settings)
            finally:
                database.dispose()
        self._templates[key] = location
        return location

    def _copy(self, backend: str, seed: Seed | None) -> Database:
        template = self._template(backend, seed)
        location = self._copy_to(backend, template, "db", rows=seed is not None)
        return self._database(backend, location, pool=True)

    def _copy_to(self, backend: str, template: str, what: str, *, rows: bool) -> str:
        """A new copy of the template: its location. On PostgreSQL the migrations are replayed,
        then the template's rows copied (`rows`: it has more than the migrations wrote)."""
        location = self._new_location(backend, what)
        if backend == "sqlite":
            _sqlite_copy(Path(template), Path(location))
            return location
        engine = self._schema_engine(location, create=True)
        try:
            with engine.begin() as conn:
                _replay(conn, self._migration)
                if rows:
                    _copy_rows(conn, source=template, target=location)
        finally:
            engine.dispose()
        return location

    def _migrated(self, backend: str) -> str:
        """A database migrated by the real migrations (on PostgreSQL, recording them)."""
        location = self._new_location(backend, "template")
        if backend == "sqlite":
            engine = make_engine(f"sqlite:///{location}", poolclass=NullPool)
            try:
                upgrade_database(f"sqlite:///{location}", engine=engine)
            finally:
                engine.dispose()
            return location
        engine = self._schema_engine(location, create=True)

        def record(
            _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool
        ) -> None:
            self._migration.append((statement, parameters, many))

        event.listen(engine, "before_cursor_execute", record)
        try:
            upgrade_database(self.postgres_url, engine=engine)
        finally:
            engine.dispose()
        # Once per session: a replay must build what the migrations built.
        replayed = self._copy_to(backend, location, "check", rows=False)
        engine = create_engine(self.postgres_url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                migrated, copied = _signature(conn, location), _signature(conn, replayed)
        finally:
            engine.dispose()
        differences = sorted(set(migrated) ^ set(copied))
        assert migrated and sorted(migrated) == sorted(copied), (
            f"replaying the migrations built another schema: {differences}"
        )
        return location

    def _database(self, backend: str, location: str, *, pool: bool) -> Database:
        if backend == "sqlite":
            url = f"sqlite:///{location}"
            return Database(
                url, engine=make_engine(url, **({} if pool else {"poolclass": NullPool}))
            )
        engine = make_engine(
            self.postgres_url,
            connect_args={"options": f"-csearch_path={location}"},
            **({"pool_size": 5} if pool else {"pool_size": 1, "max_overflow": 2}),
        )
        return Database(self.postgres_url, engine=engine)

    def _schema_engine(self, schema: str, *, create: bool) -> Engine:
        if create:
            admin = create_engine(self.postgres_url, poolclass=NullPool)
            try:
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            finally:
                admin.dispose()
            self._schemas.append(schema)
        return make_engine(
            self.postgres_url,
            connect_args={"options": f"-csearch_path={schema}"},
            pool_size=1,
            max_overflow=2,
        )

    def _new_location(self, backend: str, what: str) -> str:
        self._serial += 1
        if backend == "sqlite":
            return str(self.tmp / f"{what}-{self._serial}.db")
        return f"tb_test_{self.run}_{what}_{self._serial}"


def _contents(database: Database) -> dict[str, str]:
    """A digest of every table's rows."""
    digests: dict[str, str] = {}
    with database.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows = sorted(
                repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{table}"'))
            )
            digests[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a SQLite database consistently (whatever sits in its write-ahead log)."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _replay(conn: Connection, statements: list[tuple[str, Any, bool]]) -> None:
    """Send the recorded statements again, as they were sent (the DB-API cursor's own calls)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for statement, parameters, many in statements:
            if many:
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)
    finally:
        cursor.close()


def _copy_rows(conn: Connection, *, source: str, target: str) -> None:
    """Make the target schema's rows and sequences those of the source (same tables)."""
    tables = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": source}
    ).scalars()
    graph: dict[str, set[str]] = {table: set() for table in tables}
    for child, parent in conn.execute(
        text(
            "SELECT c.relname, p.relname FROM pg_constraint f"
            " JOIN pg_class c ON c.oid = f.conrelid JOIN pg_class p ON p.oid = f.confrelid"
            " JOIN pg_namespace n ON n.oid = f.connamespace"
            " WHERE f.contype = 'f' AND n.nspname = :s"
        ),
        {"s": source},
    ):
        if child != parent:  # a table referring to itself is filled by one statement
            graph[child].add(parent)
    order = list(TopologicalSorter(graph).static_order())  # parents first
    for table in reversed(order):
        conn.execute(text(f'DELETE FROM "{target}"."{table}"'))
    for table in order:
        columns = ", ".join(
            f'"{name}"'
            for name in conn.execute(
                text(
                    "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass)"
                    " AND attnum > 0 AND NOT attisdropped AND attgenerated = ''"
                    " ORDER BY attnum"
                ),
                {"t": f'"{source}"."{table}"'},
            ).scalars()
        )
        conn.execute(
            text(
                f'INSERT INTO "{target}"."{table}" ({columns}) OVERRIDING SYSTEM VALUE'
                f' SELECT {columns} FROM "{source}"."{table}"'
            )
        )
    sequences = conn.execute(
        text(
            "SELECT sequencename, last_value, start_value FROM pg_sequences WHERE schemaname = :s"
        ),
        {"s": source},
    ).all()
    for name, last_value, start_value in sequences:
        called = last_value is not None
        conn.execute(
            text("SELECT setval(CAST(:seq AS regclass), :value, :called)"),
            {
                "seq": f'"{target}"."{name}"',
                "value": last_value if called else start_value,
                "called": called,
            },
        )


def _signature(conn: Connection, schema: str) -> list[str]:
    """What a schema is made of, and holds, as comparable lines (its own name masked)."""
    queries = {
        "column": """
            SELECT table_name, column_name, ordinal_position, data_type, udt_name, is_nullable,
                   column_default, character_maximum_length, numeric_precision, is_identity,
                   is_generated, generation_expression
            FROM information_schema.columns WHERE table_schema = :s""",
        "constraint": """
            SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
            FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
            WHERE n.nspname = :s""",
        "index": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = :s",
        "sequence": """
            SELECT sequencename, data_type, start_value, min_value, max_value, increment_by,
                   cycle, last_value
            FROM pg_sequences WHERE schemaname = :s""",
        "trigger": """
            SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid)
            FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = r.relnamespace
            WHERE n.nspname = :s AND NOT t.tgisinternal""",
        "function": """
            SELECT p.proname, pg_get_functiondef(p.oid)
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :s""",
        "view": "SELECT viewname, definition FROM pg_views WHERE schemaname = :s",
        "type": """
            SELECT t.typname, t.typtype FROM pg_type t JOIN pg_namespace n
            ON n.oid = t.typnamespace WHERE n.nspname = :s""",
    }
    lines: list[str] = []
    for kind, query in queries.items():
        for row in conn.execute(text(query), {"s": schema}):
            lines.append(f"{kind}: {tuple(row)}")
    tables = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
    ).scalars()
    for table in list(tables):
        digest = conn.execute(
            text(
                "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text))"
                f' FROM "{schema}"."{table}" t'
            )
        ).one()
        lines.append(f"rows: {table} {tuple(digest)}")
    return [line.replace(schema, "<schema>") for line in lines]
