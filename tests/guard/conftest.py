"""Fixtures of the guard tests: the demo accounts (over the DEMO seed), a guard over the test's
database, and helpers that log in wrongly from many addresses as an attacker would."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session

from tests.support.databases import Seed
from tests.support.live import _free_port
from tests.support.seeds import DEMO
from tongban.guard import service as guard_service
from tongban.guard.service import Guard
from tongban.identity import login_sessions
from tongban.identity.authentication import LoginFailed, LoginLocked
from tongban.identity.demo import create_demo_accounts
from tongban.identity.models import Account
from tongban.platform.config import Settings
from tongban.platform.db import Database
from tongban.platform.db.migrate import upgrade_database
from tongban.regions import service as regions
from tongban.shell.app import create_app


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """A test using `demo` runs over the DEMO seed (tests/conftest.py)."""
    return {"demo": DEMO}


@pytest.fixture
def demo(db: Session, settings: Settings) -> dict[str, Account]:
    """The demo accounts by username (created when the database has no seed)."""
    found = {a.username: a for a in db.query(Account).all()}
    if "admin" not in found:
        regions.load_builtin(db)
        create_demo_accounts(db, settings=settings)
        db.flush()
        found = {a.username: a for a in db.query(Account).all()}
    return found


@pytest.fixture
def guard(app: FastAPI, settings: Settings) -> Guard:
    """The detector over the test's database (the app's), without the statistical model."""
    database: Database = app.state.database
    return Guard(database, settings, anomaly=False)


Attempt = Callable[..., str]


@pytest.fixture
def attempt(app: FastAPI, settings: Settings) -> Attempt:
    """Log in once through the identity service in a unit of work of its own (as a request
    would): 'ok', 'failed' or 'locked'."""
    database: Database = app.state.database

    def run(username: str, password: str, address: str) -> str:
        try:
            with database.session_scope() as session:
                login_sessions.login(
                    session,
                    username=username,
                    password=password,
                    client_ip=address,
                    user_agent="attack-sim",
                    settings=settings,
                )
        except LoginLocked:
            return "locked"
        except LoginFailed:
            return "failed"
        return "ok"

    return run


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A node with the demo accounts and the detector running; its URL."""
    data_dir: Path = tmp_path_factory.mktemp("guard-node")
    url = f"sqlite:///{(data_dir / 'node.db').resolve()}"
    upgrade_database(url)
    database = Database(url)
    settings = Settings(data_dir=data_dir / "var", database_url=url)
    with database.session_scope() as session:
        regions.load_builtin(session)
        create_demo_accounts(session, settings=settings)
    app = create_app(settings, database, background=[guard_service.worker_starter(every=0.2)])
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the node did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        database.dispose()
