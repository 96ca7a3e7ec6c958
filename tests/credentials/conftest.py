"""Fixtures of the credentials tests: the demo world (regions, demo accounts, the seed catalog)
with API tokens, a holder key, and cases written straight into the cases table, approved and
ready to be completed by the demo official."""

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
from tongban.platform.config import Settings

SOCIAL_CARD_ITEM = "101110006000"  # 社会保障卡申领: yields 社会保障卡
SENIOR_CARD_ITEM = "109110004000"  # 老年人优待证
PENSION_ITEM = "101110001000"  # yields no licence


@dataclass
class World(SeededWorld):
    """Accounts and tokens by name, and the demo department."""

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
    world.departments["demo"] = identity.get_department_by_code(
        session, code=identity.DEMO_DEPARTMENT_CODE
    )
    for name in ("citizen", "relative", "official", "clerk", "steward", "admin"):
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


WORLD = Seed("credentials_world", _seed, base=DEMO, keys=True)


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
    item_code: str = SOCIAL_CARD_ITEM,
    state: str = "approved",
    decision: str | None = "approved",
    applicant: str = "citizen",
    form_data: dict[str, Any] | None = None,
) -> cases.Case:
    """A case of the demo department at 511602, in the given state."""
    moment = datetime(2026, 11, 2, 2, tzinfo=UTC)
    applicant_row = world.accounts[applicant]
    dept = world.departments["demo"]
    case = cases.Case(
        number=f"511602-20261102-C{next(_serial):011d}",
        kind="single",
        item_code=item_code,
        item_name="社会保障卡申领",
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
        form_data=form_data or {"bank": "中国农业银行"},
        state=state,
        decision=decision,
        decided_at=moment if decision else None,
        acceptance_limit=5,
        promised_value=20,
        promised_unit="working_days",
        statutory_value=45,
        statutory_unit="working_days",
        received_at=moment,
        accepted_at=moment,
        acceptance_due=date(2026, 11, 9),
        missing=[],
    )
    session.add(case)
    session.flush()
    return case
