"""Fixtures of the exchange tests: the demo world (regions, demo accounts, the seed catalog, the
exchange's demo resources, records and agreement), plus an official of another department,
API tokens, and cases written straight into the cases table in the state a test needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.support import cases_internals as cases
from tests.support import identity_internals as identity
from tests.support.databases import Seed, hashing_once, seeded_with
from tests.support.seeds import DEMO, SeededWorld

from tongban.catalog import service as catalog
from tongban.exchange import service as exchange
from tongban.platform.config import Settings

PENSION_ITEM = "101110001000"
OTHER_DEPARTMENT = ("11511602MB0000099X", "广安区其他局", "511602")


@dataclass
class World(SeededWorld):
    """Accounts, tokens and departments by name."""

    accounts: dict[str, identity.Account] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    departments: dict[str, identity.Department] = field(default_factory=dict)

    def h(self, who: str) -> dict[str, str]:
        """Headers authenticating as `who`."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def actor(self, who: str) -> identity.Actor:
        """The Actor of `who`."""
        return identity.actor_for(self.accounts[who])


def _build(session: Session, settings: Settings) -> World:
    world = World()
    catalog.load_seed(session)
    exchange.load_demo(session, settings=settings)
    other = identity.ensure_department(
        session,
        code=identity.make_uscc(body=OTHER_DEPARTMENT[0][:17]),
        name=OTHER_DEPARTMENT[1],
        region_code=OTHER_DEPARTMENT[2],
    )
    world.departments["other"] = other
    world.departments["pension"] = identity.get_department_by_code(
        session, code=identity.DEMO_DEPARTMENT_CODE
    )
    identity.create_account(
        session,
        username="x-other-official",
        password="correct horse battery",
        role="official",
        department_code=other.code,
        region_code="511602",
        settings=settings,
    )
    for name in ("citizen", "relative", "official", "steward", "admin", "x-other-official"):
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


WORLD = Seed("exchange_world", _seed, base=DEMO, keys=True)


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


_serial = iter(range(1, 10**6))


def make_case(
    session: Session,
    world: World,
    *,
    state: str = "accepted",
    applicant: str = "citizen",
    department: str = "pension",
    item_code: str = PENSION_ITEM,
) -> cases.Case:
    """A pension transfer case of a department at 511602, in the given state."""
    moment = datetime(2026, 11, 2, 2, tzinfo=UTC)
    applicant_row = world.accounts[applicant]
    dept = world.departments[department]
    case = cases.Case(
        number=f"511602-20261102-X{next(_serial):011d}",
        kind="single",
        item_code=item_code,
        item_name="企业职工基本养老保险关系转移接续",
        implementation_code=f"511602-{item_code}-01",
        case_type="promise",
        department_id=dept.id,
        authority_code=dept.code,
        authority_name=dept.name,
        authority_region="511602",
        applicant_id=applicant_row.id,
        applicant_name="王建国",
        filed_by_id=applicant_row.id,
        filed_by_role="citizen",
        channel="online",
        service_point=None,
        form_data={},
        state=state,
        acceptance_limit=5,
        promised_value=20,
        promised_unit="working_days",
        statutory_value=45,
        statutory_unit="working_days",
        received_at=moment,
        accepted_at=moment,
        closed_at=moment if state == "completed" else None,
        acceptance_due=date(2026, 11, 9),
        missing=[],
    )
    session.add(case)
    session.flush()
    return case
