"""Web-test fixtures: for the browser tests, one live server on a demo SQLite database and one
headless Chromium; for test_pages.py, its demo data as a seed.

The browser tests need Debian's chromium (`make test` installs it through
tools/ensure_chromium.sh); Playwright's own browser downloads are not used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import Seed
from tests.support.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, live_server
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


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright, closed after the module's tests: while
    Playwright's sync API is open it keeps an event loop running in the main thread, and a later
    test of the same worker calling asyncio.run() would fail (tests/shell/test_serving.py)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("TONGBAN_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing; run tools/ensure_chromium.sh")
        pytest.skip(f"{CHROMIUM} is missing; run tools/ensure_chromium.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
