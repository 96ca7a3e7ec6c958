"""The consent browser tests' live server: demo data, no analytics workload (these pages show
none); Chromium is the suite's `browser` fixture (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.live import LiveServer, live_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app over HTTP on the demo data."""
    with live_server(tmp_path_factory.mktemp("consent-web"), analytics=False) as server:
        yield server
