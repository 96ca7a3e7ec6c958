"""Run the platform on a throw-away demo database in a background thread.

Used by the browser tests, the page-weight benchmark and the screenshot script: a real HTTP
server (uvicorn) on 127.0.0.1, a migrated SQLite file with the demo data loaded.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from tongban.platform.config import Settings
from tongban.platform.db import Database, upgrade_database

# The demo's online-applicable implementation used by tests and benchmarks (失业登记, 广安区).
DEMO_IMPLEMENTATION = "511602-101110004000-01"
# An official of that implementation's competent department (the demo official may sit in
# another department; see the report of the web issue).
WORK_OFFICIAL = "official-ga"
DEMO_PASSWORD = "tongban-demo"


@dataclass
class LiveServer:
    """A running server: its base URL, database and settings."""

    url: str
    database: Database
    settings: Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_demo(database: Database, settings: Settings | None = None) -> None:
    """Load regions, catalog and demo accounts, plus an official for DEMO_IMPLEMENTATION.

    The node's keys live in the settings' data directory (by default a folder beside a
    SQLite database, or a temporary one)."""
    from tongban.catalog import service as catalog
    from tongban.identity import service as identity
    from tongban.shell.cli import load_demo_data

    if settings is None:
        database_file = Path(database.engine.url.database or "")
        data_dir = (
            database_file.parent / "var"
            if database.url.startswith("sqlite") and database_file.name
            else Path(tempfile.mkdtemp(prefix="tongban-demo-"))
        )
        settings = Settings(data_dir=data_dir, database_url=database.url)
    load_demo_data(database, settings=settings)
    with database.session_scope() as session:
        if identity.find_account_by_username(session, username=WORK_OFFICIAL) is None:
            impl = catalog.get_implementation(session, code=DEMO_IMPLEMENTATION)
            identity.create_account(
                session,
                username=WORK_OFFICIAL,
                password=DEMO_PASSWORD,
                role="official",
                department_code=impl.authority_code,
                region_code=impl.region_code,
                display_name="广安区人社局 审批员 赵明",
            )


@contextmanager
def live_server(data_dir: Path, *, analytics: bool = True) -> Iterator[LiveServer]:
    """Start the app with demo data on a free local port; stop it on exit.

    `analytics=False` leaves out the simulated insight workload (~4 s) for pages that show none.
    """
    from tongban.shell.app import create_app

    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(data_dir / 'web.db').resolve()}"
    upgrade_database(url)
    database = Database(url)
    port = _free_port()
    settings = Settings(
        data_dir=data_dir, database_url=url, public_base_url=f"http://127.0.0.1:{port}"
    )
    prepare_demo(database, settings)
    if analytics:
        # A small simulated workload, so the operators' insight dashboard has data to show.
        from tongban.insight.simulate import simulate

        simulate(cases=20_000, seed=1, out=data_dir / "analytics")
    app = create_app(settings, database)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", database=database, settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        database.dispose()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
