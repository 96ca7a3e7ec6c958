"""The tracker tests' world: the exchange tests' seed (demo accounts, the pension agreement),
a fetch by the demo official and the citizen's tracker read through the API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.exchange.conftest import WORLD, World, _build, make_case
from tests.support.databases import Seed, hashing_once, seeded_with
from tongban.platform.config import Settings

__all__ = ["World", "fetch", "make_case", "seeds_by_fixture", "usage", "world"]


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """A test using `world` runs over the exchange tests' seed."""
    return {"world": WORLD}


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    """The exchange tests' world, under the test's rolled-back transaction."""
    recorded = seeded_with(db, WORLD)
    if recorded is not None:
        return World.reload(db, recorded)
    with hashing_once():
        return _build(db, settings)


def fetch(client: TestClient, world: World, number: str, purpose: str = "核验参保缴费情况") -> None:
    """The official fetches the pension record for the case."""
    answer = client.post(
        f"/api/v1/cases/{number}/data-fetches",
        json={"resource": "RS-YLBX-001", "purpose": purpose},
        headers=world.h("official"),
    )
    assert answer.status_code == 201, answer.text


def usage(client: TestClient, world: World, who: str = "citizen", **params: str) -> dict[str, Any]:
    """One page of a tracker through the API."""
    r = client.get("/api/v1/my/data-usage", params=params, headers=world.h(who))
    assert r.status_code == 200, r.text
    return dict(r.json())
