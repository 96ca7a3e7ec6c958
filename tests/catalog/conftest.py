"""Fixtures of the catalog tests: regions loaded, and the small catalog imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from tests.support.databases import Seed, seeded_with
from tests.support.seeds import REGIONS
from tongban.catalog import service as catalog
from tongban.platform.config import Settings
from tongban.regions import service as regions

FIXTURE = Path(__file__).parent / "catalog_small.yaml"


def small_document() -> dict[str, Any]:
    """A fresh copy of the small catalog as a parsed document."""
    data: dict[str, Any] = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    return data


def _small_catalog(session: Session, settings: Settings) -> None:
    catalog.import_file(session, path=FIXTURE)


# The regions and the small catalog, imported as `catalog_db` always imported it.
SMALL_CATALOG = Seed("catalog_small", _small_catalog, base=REGIONS)


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """Tests using these fixtures run over their seed (tests/conftest.py)."""
    return {"catalog_db": SMALL_CATALOG, "regions_db": REGIONS}


@pytest.fixture
def regions_db(db: Session) -> Session:
    """A session whose database has the built-in regions (the REGIONS seed's)."""
    if seeded_with(db, REGIONS) is None:
        regions.load_builtin(db)
    return db


@pytest.fixture
def catalog_db(regions_db: Session) -> Session:
    """A session whose database has regions and the small catalog (the SMALL_CATALOG seed's)."""
    if seeded_with(regions_db, SMALL_CATALOG) is None:
        catalog.import_file(regions_db, path=FIXTURE)
    return regions_db
