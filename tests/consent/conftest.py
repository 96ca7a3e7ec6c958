"""The consent browser tests' live server (demo data, no analytics workload: these pages
show none) and Chromium, one per module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.live import CHROMIUM, CHROMIUM_ARGS, LiveServer, live_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app over HTTP on the demo data."""
    with live_server(tmp_path_factory.mktemp("consent-web"), analytics=False) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright, closed after the module."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("TONGBAN_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing; run tools/ensure_chromium.sh")
        pytest.skip(f"{CHROMIUM} is missing; run tools/ensure_chromium.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
