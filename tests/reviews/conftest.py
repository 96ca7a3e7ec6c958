"""Fixtures of the reviews tests: regions, two departments, one account per part, and cases
written straight into the cases table in the state a test needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.support import cases_internals as cases
from tests.support import identity_internals as identity
from tests.support.databases import Seed, hashing_once, seeded_with
from tests.support.seeds import REGIONS, SeededWorld
from tongban.platform.config import Settings
from tongban.regions import service as regions

PASSWORD = "correct horse battery"
DEPARTMENTS = {
    "pension": ("11511602MB00000012", "广安市广安区社会保险事务中心", "511602"),
    "other": ("11440305MB0000008W", "深圳市住房公积金管理中心南山管理部", "440305"),
}
# name -> (role, department key, region)
ACCOUNTS: dict[str, tuple[str, str | None, str | None]] = {
    "migrant": ("citizen", None, None),
    "relative": ("citizen", None, None),
    "stranger": ("citizen", None, None),
    "clerk": ("clerk", None, "440305"),
    "far_clerk": ("clerk", None, "350203"),
    "official": ("official", "pension", "511602"),
    "other_official": ("official", "other", "440305"),
    "admin": ("admin", None, None),
}


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


def build_world(session: Session, settings: Settings) -> World:
    """Regions, departments and accounts with tokens: built, or found committed when the
    session's database holds the WORLD seed."""
    recorded = seeded_with(session, WORLD)
    if recorded is not None:
        return World.reload(session, recorded)
    with hashing_once():  # Argon2 is slow by design: one real hash of the one password
        return _build_world(session, settings)


def _build_world(session: Session, settings: Settings) -> World:
    world = World()
    regions.load_builtin(session)
    for key, (code, name, region) in DEPARTMENTS.items():
        world.departments[key] = identity.ensure_department(
            session, code=code, name=name, region_code=region
        )
    for n, (name, (role, dept, region)) in enumerate(ACCOUNTS.items()):
        extra: dict[str, str] = {}
        if role == "citizen":
            extra["resident_id"] = identity.make_resident_id(
                region_code="511602", birth=date(1958, 3, 1), sequence=200 + n
            )
        if dept:
            extra["department_code"] = DEPARTMENTS[dept][0]
        if region:
            extra["region_code"] = region
        account = identity.create_account(
            session,
            username=f"r-{name.replace('_', '-')}",
            password=PASSWORD,
            role=role,
            settings=settings,
            **extra,
        )
        world.accounts[name] = account
        world.tokens[name] = identity.issue_api_token(
            session, account_id=account.id, name="tests", settings=settings
        ).token
    session.flush()
    return world


def _seed_world(session: Session, settings: Settings) -> dict[str, dict[str, Any]]:
    return _build_world(session, settings).recorded()


# The world, committed once per session and backend (tests/support/databases.py); the tests
# that use `world` (here and in tests/insight) run their rolled-back transactions over it.
WORLD = Seed("reviews_world", _seed_world, base=REGIONS, keys=True)


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """A test using `world` runs over the WORLD seed (tests/conftest.py)."""
    return {"world": WORLD}


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    """The world, under the test's rolled-back transaction."""
    return build_world(db, settings)


_serial = iter(range(1, 10**6))


def make_case(
    session: Session,
    world: World,
    *,
    state: str = "completed",
    applicant: str = "migrant",
    filed_by: str | None = None,
    service_point: str | None = None,
    channel: str = "online",
) -> cases.Case:
    """A case of the pension department at 511602, in the given state."""
    moment = datetime(2026, 9, 1, 2, tzinfo=UTC)
    filer = world.accounts[filed_by or applicant]
    case = cases.Case(
        number=f"T511602-20260901-{next(_serial):06d}",
        kind="single",
        item_code="511A0138000000",
        item_name="企业职工基本养老保险关系转移接续",
        implementation_code="511A0138000000-511602",
        case_type="promise",
        department_id=world.departments["pension"].id,
        authority_code=DEPARTMENTS["pension"][0],
        authority_name=DEPARTMENTS["pension"][1],
        authority_region="511602",
        applicant_id=world.accounts[applicant].id,
        applicant_name="李建国",
        filed_by_id=filer.id,
        filed_by_role=filer.role,
        channel=channel,
        service_point=service_point,
        form_data={},
        state=state,
        acceptance_limit=5,
        promised_value=10,
        promised_unit="working_days",
        statutory_value=20,
        statutory_unit="working_days",
        received_at=moment,
        accepted_at=moment,
        closed_at=moment if state == "completed" else None,
        acceptance_due=date(2026, 9, 8),
        missing=[],
    )
    session.add(case)
    session.flush()
    return case


ONLINE_BAD = {
    "overall": 2,
    "efficiency": 1,
    "guide_accuracy": 3,
    "convenience": 2,
    "usability": 3,
    "comment": "材料要求前后不一致",
}
ONLINE_GOOD = {
    "overall": 5,
    "efficiency": 5,
    "guide_accuracy": 4,
    "convenience": 5,
    "usability": 5,
}
ONSITE_GOOD = {"overall": 4, "efficiency": 4, "service_level": 5, "attitude": 5}
