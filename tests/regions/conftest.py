"""Fixtures of the regions tests: a database holding the built-in divisions."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.support.databases import Seed, seeded_with
from tests.support.seeds import REGIONS
from tongban.regions import service


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """A test using `loaded` runs over the REGIONS seed (tests/conftest.py)."""
    return {"loaded": REGIONS}


@pytest.fixture
def loaded(db: Session) -> Session:
    """The test's session, with the built-in divisions: committed once per session into the
    REGIONS seed, so nothing is loaded here; what the test writes is rolled back."""
    # Loaded here only over a database without the seed. No commit: the API client's sessions
    # share the test's connection, so they see the rows; a commit here would release the
    # outermost SQLite savepoint, i.e. really commit.
    if seeded_with(db, REGIONS) is None:
        service.load_builtin(db)
    return db
