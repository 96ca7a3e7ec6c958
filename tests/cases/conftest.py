"""Fixtures of the cases tests: a small world (regions, departments, accounts with API tokens,
the fixture catalog), a movable clock, and sample files."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from tests.support import identity_internals as identity
from tests.support.databases import Seed, hashing_once, seeded_with
from tests.support.seeds import REGIONS, SeededWorld
from tongban.cases import clocks
from tongban.catalog import service as catalog
from tongban.platform.config import Settings
from tongban.regions import service as regions

FIXTURE = Path(__file__).parent / "fixture_catalog.yaml"
PASSWORD = "correct horse battery"
MIGRANT_ID = identity.make_resident_id(region_code="511602", birth=date(1985, 6, 1), sequence=17)

DEPARTMENTS = {
    "pension": ("11511602MB00000012", "广安市广安区社会保险事务中心", "511602"),
    "fund_co": ("11511602MB00000025", "广安市住房公积金管理中心广安区管理部", "511602"),
    "huji": ("11440305MB0000003D", "深圳市公安局南山分局", "440305"),
    "fund": ("11440305MB0000008W", "深圳市住房公积金管理中心南山管理部", "440305"),
    "birth": ("11350200MB0000004G", "厦门市卫生健康委员会", "350200"),
    "hukou": ("11350200MB0000005K", "厦门市公安局", "350200"),
    "medins": ("11350200MB0000006N", "厦门市医疗保障局", "350200"),
    "other": (identity.make_uscc(body="11511602MB0000099"), "广安区其他局", "511602"),
}

# name -> (role, department key, region code)
ACCOUNTS: dict[str, tuple[str, str | None, str | None]] = {
    "migrant": ("citizen", None, None),
    "relative": ("citizen", None, None),
    "lapsed": ("citizen", None, None),
    "stranger": ("citizen", None, None),
    "clerk": ("clerk", None, "440305"),
    "far_clerk": ("clerk", None, "350203"),
    "official": ("official", "pension", "511602"),
    # Same department, but a township's jurisdiction: the county's cases lie outside it.
    "outside": ("official", "pension", "511602001000"),
    "other_dept": ("official", "other", "511602"),
    "fund_official": ("official", "fund", "440305"),
    "co_official": ("official", "fund_co", "511602"),
    "huji_official": ("official", "huji", "440305"),
    "birth_official": ("official", "birth", "350200"),
    "hukou_official": ("official", "hukou", "350200"),
    "medins_official": ("official", "medins", "350200"),
    "steward": ("steward", None, "511602"),
    "admin": ("admin", None, None),
}


@dataclass
class World(SeededWorld):
    """Accounts by name, their bearer tokens, and the departments."""

    accounts: dict[str, identity.Account] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    departments: dict[str, identity.Department] = field(default_factory=dict)

    def h(self, who: str, **extra: str) -> dict[str, str]:
        """Headers authenticating as `who`."""
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    def actor(self, who: str) -> identity.Actor:
        """The Actor of `who`, as the API would resolve it."""
        return identity.actor_for(self.accounts[who])


def catalog_document() -> dict[str, Any]:
    """The fixture catalog, parsed."""
    data: dict[str, Any] = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    return data


def build_world(session: Session, settings: Settings) -> World:
    """Regions, departments, accounts with tokens, proxies and the fixture catalog: built, or
    found committed when the session's database holds the WORLD seed."""
    recorded = seeded_with(session, WORLD)
    if recorded is not None:
        return World.reload(session, recorded)
    with hashing_once():  # Argon2 is slow by design: one real hash of the one password
        return _build_world(session, settings)


def _build_world(session: Session, settings: Settings) -> World:
    world = World()
    regions.load_builtin(session)
    regions.add_region(session, code="511602001000", name="浓洄街道")
    for key, (code, name, region) in DEPARTMENTS.items():
        world.departments[key] = identity.ensure_department(
            session, code=code, name=name, region_code=region
        )
    for n, (name, (role, dept, region)) in enumerate(ACCOUNTS.items()):
        fields: dict[str, Any] = {}
        if role == "citizen":
            fields["resident_id"] = (
                MIGRANT_ID
                if name == "migrant"
                else identity.make_resident_id(
                    region_code="440305", birth=date(1960, 1, 1), sequence=100 + n
                )
            )
            fields["phone"] = f"1380000{1000 + n:04d}"
        if dept:
            fields["department_code"] = DEPARTMENTS[dept][0]
        if region:
            fields["region_code"] = region
        account = identity.create_account(
            session,
            username=f"t-{name.replace('_', '-')}",
            password=PASSWORD,
            role=role,
            display_name={"migrant": "李建国"}.get(name, name),
            settings=settings,
            **fields,
        )
        world.accounts[name] = account
        world.tokens[name] = identity.issue_api_token(
            session, account_id=account.id, name="tests", settings=settings
        ).token
    migrant = world.accounts["migrant"].id
    identity.grant_accepted_proxy(
        session,
        principal_id=migrant,
        agent_id=world.accounts["relative"].id,
        relation="child",
    )
    lapsed = identity.grant_accepted_proxy(
        session, principal_id=migrant, agent_id=world.accounts["lapsed"].id, relation="sibling"
    )
    # An authorisation that ran out last month (grant_proxy only makes future ones).
    lapsed.valid_from = clocks.now() - timedelta(days=60)
    lapsed.expires_at = clocks.now() - timedelta(days=30)
    catalog.import_document(session, data=catalog_document(), source="tests/cases")
    session.flush()
    return world


def _seed_world(session: Session, settings: Settings) -> dict[str, dict[str, Any]]:
    return _build_world(session, settings).recorded()


# The world, committed once per session and backend (tests/support/databases.py); the tests
# that use `world` run their rolled-back transactions over it.
WORLD = Seed("cases_world", _seed_world, base=REGIONS, keys=True)


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """A test using `world` runs over the WORLD seed (tests/conftest.py)."""
    return {"world": WORLD}


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    """The world, under the test's rolled-back transaction."""
    return build_world(db, settings)


class Clock:
    """A movable 'now' for the cases domain, set in Asia/Shanghai wall time."""

    def __init__(self) -> None:
        self.moment: datetime | None = None

    def set(self, year: int, month: int, day: int, hour: int = 10) -> None:
        """Move to this Shanghai wall time."""
        self.moment = datetime(year, month, day, hour, tzinfo=clocks.SHANGHAI).astimezone(UTC)

    def __call__(self) -> datetime:
        return self.moment or datetime.now(UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """Control the cases domain's clock (the rest of the platform keeps real time)."""
    moving = Clock()
    monkeypatch.setattr(clocks, "now", moving)
    yield moving


def pdf_bytes(pages: int = 1) -> bytes:
    """A valid PDF with blank pages."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa75\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def pension_request(**overrides: Any) -> dict[str, Any]:
    """A clerk's submission of the migrant's pension transfer (materials added by the caller)."""
    body: dict[str, Any] = {
        "implementation": "TEST-PENSION-511602",
        "form": {"transfer_reason": "跨省就业"},
        "materials": [],
        "applicant": {"resident_id": MIGRANT_ID, "name": "李建国", "identity_confirmed": True},
    }
    body.update(overrides)
    return body


def submit_pension(session: Session, world: World, settings: Settings) -> Any:
    """File the pension case through the service as the Shenzhen clerk; return the Case."""
    from tests.support import cases_internals as cases
    from tongban.cases.schemas import CaseCreate

    sha = cases.upload(session, actor=world.actor("clerk"), data=PNG_BYTES, settings=settings)
    body = pension_request(
        materials=[
            {"name": "居民身份证", "sha256": sha.sha256},
            {"name": "转移申请表", "sha256": sha.sha256},
        ]
    )
    case, _ = cases.submit(
        session, actor=world.actor("clerk"), data=CaseCreate.model_validate(body), settings=settings
    )
    return case


def service_act(
    session: Session,
    world: World,
    settings: Settings,
    who: str,
    case: Any,
    action: str,
    **body: Any,
) -> Any:
    """Take an action through the service with the case's current version."""
    from tests.support import cases_internals as cases
    from tongban.cases.schemas import ActionIn

    return cases.act(
        session,
        actor=world.actor(who),
        number=case.number,
        action=action,
        body=ActionIn(version=case.version, **body),
        settings=settings,
    )


# A body good enough for each action.
ACTION_BODIES: dict[str, dict[str, Any]] = {
    "accept": {},
    "refuse": {"reason": "不属于本机关职权范围"},
    "request-supplement": {"missing": ["其他证明材料"], "reason": "缺证明"},
    "supplement": {"note": "已在窗口补交纸质材料"},
    "start-special": {"reason": "需现场核查", "expected_end": "2026-12-31"},
    "end-special": {},
    "co-handle": {"note": "已核对"},
    "approve": {"decision_text": "准予办理"},
    "reject": {"decision_text": "不予批准", "reason": "不符合条件"},
    "complete": {},
    "withdraw": {"reason": "不再需要"},
}


def page_login(app: Any, username: str, *, password: str = PASSWORD) -> Any:
    """A browser (TestClient) logged in on the pages as `username` (the test password, or
    the demo accounts' one when given)."""
    import re

    from fastapi.testclient import TestClient

    browser = TestClient(app)
    html = browser.get("/login", headers={"Accept": "text/html"}).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    r = browser.post(
        "/login",
        data={"csrf_token": token.group(1), "username": username, "password": password},
        follow_redirects=False,
    )
    assert r.status_code == 303
    return browser
