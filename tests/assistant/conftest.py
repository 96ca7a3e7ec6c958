"""Fixtures of the assistant tests: the demo world (regions, demo accounts) with the seed
catalog, shared as a seed so that the index is built over committed data once per backend."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.support import identity_internals as identity
from tests.support.databases import Seed, hashing_once, seeded_with
from tests.support.seeds import DEMO, SeededWorld

from tongban.catalog import service as catalog
from tongban.platform.config import Settings


class World(SeededWorld):
    """Demo accounts by name."""

    def __init__(self, **kwargs: Any) -> None:
        self.accounts = kwargs.get("accounts", {})
        self.tokens = kwargs.get("tokens", {})
        self.departments = kwargs.get("departments", {})

    def h(self, who: str) -> dict[str, str]:
        """Headers authenticating as `who` (HTML pages accept the token too)."""
        return {"Authorization": f"Bearer {self.tokens[who]}", "Accept": "text/html"}

    def actor(self, who: str) -> identity.Actor:
        """The Actor of `who`."""
        return identity.actor_for(self.accounts[who])


def _build(session: Session, settings: Settings) -> World:
    world = World()
    catalog.load_seed(session)
    for name in ("citizen", "clerk", "steward", "admin"):
        account = identity.find_account_by_username(session, username=name)
        assert account is not None
        world.accounts[name] = account
        world.tokens[name] = identity.issue_api_token(
            session, account_id=account.id, name="tests", settings=settings
        ).token
    session.flush()
    return world


def _seed(session: Session, settings: Settings) -> dict[str, dict[str, Any]]:
    with hashing_once():
        return _build(session, settings).recorded()


WORLD = Seed("assistant_world", _seed, base=DEMO, keys=True)


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """A test using `world` runs over the WORLD seed (tests/conftest.py)."""
    return {"world": WORLD}


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    """The world, under the test's rolled-back transaction."""
    recorded = seeded_with(db, WORLD)
    if recorded is not None:
        return World.reload(db, recorded)
    with hashing_once():
        return _build(db, settings)
