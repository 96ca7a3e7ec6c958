"""Fixtures of the regions tests: a database holding the built-in divisions."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tongban.regions import service


@pytest.fixture
def loaded(db: Session) -> Session:
    """The test's session, with the built-in divisions loaded (rolled back afterwards)."""
    # No commit: the API client's sessions share the test's connection, so they see the rows;
    # a commit here would release the outermost SQLite savepoint, i.e. really commit.
    service.load_builtin(db)
    return db
