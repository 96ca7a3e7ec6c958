"""Test databases are built by running the real migrations, on SQLite and on PostgreSQL.

Every test that asks for `db`, `database` or `client` runs once per backend. Each test runs
inside a transaction that is rolled back at the end, so tests do not see each other's rows;
tests that need real commits ask for `fresh_database`.

The migrations run once per session and backend, into a template that every database of the
session is a copy of (tests/support/databases.py). Data that many tests share (the regions, a
catalog, accounts with their tokens) is a *seed*: committed once into a shared copy. A test
whose fixtures name a seed (`seeds_by_fixture`) runs its rolled-back transaction over that
copy, and its fixture finds the data there instead of loading it again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.support.databases import Seed, TestDatabases
from tests.support.seeds import DEMO
from tongban.platform.config import Settings
from tongban.platform.db import Database
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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (marked browser or slow: 10 s to a minute each) run first, the rest in
    pytest's order. xdist hands each worker a chunk of consecutive tests to start with and the
    rest as they finish: long tests left to the end kept one worker busy for a minute after the
    other had run out. First, they share a worker's first chunk (so usually one worker alone
    starts the live server and Chromium) while the other worker takes the short tests.
    """

    def long(item: pytest.Item) -> bool:
        return item.get_closest_marker("browser") is not None or (
            item.get_closest_marker("slow") is not None
        )

    items.sort(key=lambda item: not long(item))  # stable: the order within each group stays


@pytest.fixture(autouse=True)
def _no_shared_facts_between_tests() -> Iterator[None]:
    """Each test's data is rolled back: a fact one test read must not reach the next. Nor may a
    search index: it is cached by catalog revision, and the tests over one seed share its
    revision (before seeds, every test imported its catalog under a revision of its own)."""
    from tongban.catalog import search

    def forget() -> None:
        forget_all()
        with search._cache_lock:
            search._cache.clear()

    forget()
    yield
    forget()


@pytest.fixture(scope="session")
def test_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    """The factory of throw-away databases for this test session."""
    factory = TestDatabases(tmp_path_factory.mktemp("db"), POSTGRES_URL)
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
def database(backend: str, test_databases: TestDatabases) -> Database:
    """One migrated database per backend, shared by the session's tests."""
    return test_databases.shared(backend)


@pytest.fixture
def fresh_database(backend: str, test_databases: TestDatabases) -> Iterator[Database]:
    """A migrated database of its own, for tests that need real commits."""
    db = test_databases.create(backend)
    yield db
    db.dispose()


@pytest.fixture
def seeds_by_fixture(request: pytest.FixtureRequest) -> dict[str, Seed]:
    """Fixtures whose data is a seed: a test using one of them runs over that seed's shared
    database, where the data is already committed. The first fixture listed that the test uses
    decides. Each directory lists its own fixtures by overriding this.

    Here: the authorization matrix's `world` loads the regions and the demo accounts (both
    loads are idempotent, then the seed catalog); over the DEMO seed it finds the first two.
    """
    if request.path.name == "test_authorization_matrix.py":
        return {"world": DEMO}
    return {}


@pytest.fixture
def seed(request: pytest.FixtureRequest, seeds_by_fixture: dict[str, Seed]) -> Seed | None:
    """The seed under the test's database, or None for the shared empty one."""
    for name, chosen in seeds_by_fixture.items():
        if name in request.fixturenames:
            return chosen
    return None


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
def bound_database(
    backend: str, seed: Seed | None, test_databases: TestDatabases
) -> Iterator[BoundDatabase]:
    """The shared database (holding the test's seed, if any), with everything a test writes
    rolled back afterwards."""
    database = test_databases.shared(backend, seed)
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
def settings(tmp_path: Path, seed: Seed | None, request: pytest.FixtureRequest) -> Settings:
    """Settings pointing at a temporary data directory (holding a copy of the seeds' identity
    keys when the test's seed was written with them)."""
    settings = Settings(data_dir=tmp_path / "var", database_url="sqlite://")
    if seed is not None and seed.uses_keys():
        test_databases: TestDatabases = request.getfixturevalue("test_databases")
        test_databases.copy_seed_keys(settings.data_dir)
    return settings


@pytest.fixture
def app(settings: Settings, bound_database: BoundDatabase) -> FastAPI:
    """The app wired to the test's transaction."""
    return create_app(settings, bound_database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the app (no network)."""
    with TestClient(app) as test_client:
        yield test_client


# --- The public ledger's leaves: one privacy scan for the whole session (issue #12) ---------
# Owned by the ledger; see tests/support/leaf_scan.py and docs/ledger.md.


@pytest.fixture(scope="session", autouse=True)
def _scan_every_ledger_leaf() -> Iterator[None]:
    """Every event any test makes is turned into its public ledger leaf (the ledger's own
    `leaf_data`); at the end of the session (of each xdist worker) no leaf may carry a name,
    username, phone number, resident ID, free text or an id that links people. A finding
    fails the session's last test at teardown, with a summary of what leaked where."""
    from tests.support.leaf_scan import LeafScan

    scan = LeafScan().install()
    try:
        yield
    finally:
        scan.uninstall()
    report = scan.report()
    assert not report, "Public ledger leaves carry what they must not:\n" + report


# --- end of the ledger leaf scan ------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright, closed after the module's tests: while
    Playwright's sync API is open it keeps an event loop running in the main thread, and a later
    test of the same worker calling asyncio.run() would fail (tests/shell/test_serving.py).
    Without the browser the test is skipped, or fails when TONGBAN_REQUIRE_BROWSER=1 (CI)."""
    from tests.support.live import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        if os.environ.get("TONGBAN_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing; run tools/ensure_chromium.sh")
        pytest.skip(f"{CHROMIUM} is missing; run tools/ensure_chromium.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
