"""Fixtures of the catalog tests: regions loaded, and the small catalog imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from tongban.catalog import service as catalog
from tongban.regions import service as regions

FIXTURE = Path(__file__).parent / "catalog_small.yaml"


def small_document() -> dict[str, Any]:
    """A fresh copy of the small catalog as a parsed document."""
    data: dict[str, Any] = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def regions_db(db: Session) -> Session:
    """A session whose database has the built-in regions."""
    regions.load_builtin(db)
    return db


@pytest.fixture
def catalog_db(regions_db: Session) -> Session:
    """A session whose database has regions and the small catalog."""
    catalog.import_file(regions_db, path=FIXTURE)
    return regions_db
