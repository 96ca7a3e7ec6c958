"""Fixtures of the identity tests: loaded regions and quick account factories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from itertools import count
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.support import identity_internals as identity
from tests.support.databases import Seed, hashing_once, seeded_with
from tests.support.seeds import REGIONS
from tongban.platform.config import Settings
from tongban.regions import service as regions

PASSWORD = "correct horse battery"
_sequence = count(100)


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """A test using `regions_loaded` runs over the REGIONS seed (tests/conftest.py)."""
    return {"regions_loaded": REGIONS}


@pytest.fixture
def regions_loaded(db: Session) -> None:
    """The built-in divisions (committed once into the REGIONS seed), under the test's
    rolled-back transaction."""
    if seeded_with(db, REGIONS) is None:
        regions.load_builtin(db)


def new_resident_id(*, region: str = "511602", born: date = date(1950, 3, 15)) -> str:
    """A valid resident ID not used by any other test in this run."""
    return identity.make_resident_id(region_code=region, birth=born, sequence=next(_sequence))


def new_uscc(region: str = "511602") -> str:
    """A valid unified social credit code not used by any other test in this run."""
    return identity.make_uscc(body=f"11{region}MB{next(_sequence):07d}")


MakeAccount = Callable[..., identity.Account]


@pytest.fixture
def make_account(db: Session, settings: Settings) -> MakeAccount:
    """Create an account with sensible defaults per role (regions must be loaded for staff).
    Each password is hashed once per session, with the real hasher (tests/support/databases.py);
    what a test does with the account afterwards hashes afresh."""

    def make(role: str = "citizen", **fields: Any) -> identity.Account:
        n = next(_sequence)
        fields.setdefault("username", f"{role}{n}")
        fields.setdefault("password", PASSWORD)
        if role == "citizen":
            fields.setdefault("resident_id", new_resident_id())
        if role == "clerk":
            fields.setdefault("region_code", "440305")
        if role == "official" and "department_code" not in fields:
            department = identity.ensure_department(
                db, code=new_uscc(), name=f"测试局{n}", region_code="511602"
            )
            fields["department_code"] = department.code
        with hashing_once():
            return identity.create_account(db, role=role, settings=settings, **fields)

    return make
