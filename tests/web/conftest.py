"""Web-test fixtures: for the browser tests, one live server on a demo SQLite database and one
headless Chromium; for test_pages.py, its demo data as a seed.

The browser tests need Debian's chromium (`make test` installs it through
tools/ensure_chromium.sh); Playwright's own browser downloads are not used.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.databases import Seed
from tests.support.live import LiveServer, live_server
from tests.support.seeds import DEMO


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """test_pages.py's `demo` loads the regions and the demo accounts, both idempotently: over
    the DEMO seed (tests/conftest.py) it finds them committed and writes nothing."""
    return {"demo": DEMO}


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app served over HTTP on 127.0.0.1 with the demo data."""
    with live_server(tmp_path_factory.mktemp("web")) as server:
        yield server
