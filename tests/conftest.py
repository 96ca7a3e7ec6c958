"""Test databases are built by running the real migrations, on SQLite and on PostgreSQL.

Every test that asks for `db`, `database` or `client` runs once per backend. Each test runs
inside a transaction that is rolled back at the end, so tests do not see each other's rows;
tests that need real commits ask for `fresh_database`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from tongban.platform.config import Settings
from tongban.platform.db import Database, make_engine, upgrade_database
from tongban.platform.db.facts import forget_all
from tongban.shell.app import create_app

POSTGRES_URL = os.environ.get(
    "TONGBAN_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("TONGBAN_REQUIRE_POSTGRES") == "1"
BACKENDS = os.environ.get("TONGBAN_TEST_BACKENDS", "sqlite,postgresql").split(",")


def _postgres_reachable() -> bool:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


class TestDatabases:
    """Creates and drops throw-away databases: a SQLite file or a PostgreSQL schema."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.schemas: list[str] = []

    def create(self, backend: str) -> Database:
        """A new, migrated, empty database on the backend."""
        if backend == "sqlite":
            url = f"sqlite:///{self.tmp / f'tongban-{uuid.uuid4().hex}.db'}"
            upgrade_database(url)
            return Database(url)
        schema = f"tb_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        self.schemas.append(schema)
        engine = make_engine(
            POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_size=5
        )
        upgrade_database(POSTGRES_URL, engine=engine)
        return Database(POSTGRES_URL, engine=engine)

    def drop_all(self) -> None:
        """Drop the PostgreSQL schemas made in this run."""
        if not self.schemas:
            return
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            for schema in self.schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _no_shared_facts_between_tests() -> Iterator[None]:
    """Each test's data is rolled back: a fact one test read must not reach the next."""
    forget_all()
    yield
    forget_all()


@pytest.fixture(scope="session")
def test_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    """The factory of throw-away databases for this test session."""
    factory = TestDatabases(tmp_path_factory.mktemp("db"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test: sqlite or postgresql."""
    name = str(request.param)
    if name == "postgresql" and not _postgres_reachable():
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL required but unreachable at {POSTGRES_URL}")
        pytest.skip("PostgreSQL not reachable")
    return name


@pytest.fixture(scope="session")
def database(backend: str, test_databases: TestDatabases) -> Iterator[Database]:
    """One migrated database per backend, shared by the session's tests."""
    db = test_databases.create(backend)
    yield db
    db.dispose()


@pytest.fixture
def fresh_database(backend: str, test_databases: TestDatabases) -> Iterator[Database]:
    """A migrated database of its own, for tests that need real commits."""
    db = test_databases.create(backend)
    yield db
    db.dispose()


class BoundDatabase(Database):
    """A Database whose sessions all join one outer transaction (rolled back after the test)."""

    def __init__(self, parent: Database, connection: object) -> None:
        self.url = parent.url
        self.engine = parent.engine
        self.sessions = sessionmaker(
            bind=connection,  # type: ignore[arg-type]
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )


@pytest.fixture
def bound_database(database: Database) -> Iterator[BoundDatabase]:
    """The shared database, with everything a test writes rolled back afterwards."""
    connection = database.engine.connect()
    transaction = connection.begin()
    try:
        yield BoundDatabase(database, connection)
    finally:
        transaction.rollback()
        connection.close()


@pytest.fixture
def db(bound_database: BoundDatabase) -> Iterator[Session]:
    """A session inside the test's transaction."""
    session = bound_database.sessions()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a temporary data directory."""
    return Settings(data_dir=tmp_path / "var", database_url="sqlite://")


@pytest.fixture
def app(settings: Settings, bound_database: BoundDatabase) -> FastAPI:
    """The app wired to the test's transaction."""
    return create_app(settings, bound_database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the app (no network)."""
    with TestClient(app) as test_client:
        yield test_client
