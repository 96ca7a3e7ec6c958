"""authorize(): every action against every role, and the jurisdiction/department scopes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tongban.identity.service import POLICY, Actor, Role, Rule, allowed, authorize
from tongban.platform.errors import Forbidden, Unauthorized

ACTORS = {
    Role.CITIZEN: Actor(account_id=1, username="c", role=Role.CITIZEN),
    Role.CLERK: Actor(account_id=2, username="k", role=Role.CLERK, service_point="440305"),
    Role.OFFICIAL: Actor(
        account_id=3, username="o", role=Role.OFFICIAL, department_id=7, jurisdiction="511600"
    ),
    Role.STEWARD: Actor(account_id=4, username="s", role=Role.STEWARD, jurisdiction="510000"),
    Role.ADMIN: Actor(account_id=5, username="a", role=Role.ADMIN),
}

CIT, CLK, OFF, STW, ADM = Role.CITIZEN, Role.CLERK, Role.OFFICIAL, Role.STEWARD, Role.ADMIN
EXPECTED: dict[str, set[Role]] = {
    "accounts.manage": {ADM},
    "accounts.read_self": {CIT, CLK, OFF, STW, ADM},
    "departments.manage": {ADM},
    "regions.manage": {ADM},
    "catalog.import": {ADM},
    "catalog.export": {ADM, STW},
    "catalog.manage": {ADM},
    "proxies.manage_own": {CIT},
    "tokens.manage_own": {CIT, CLK, OFF, STW, ADM},
}


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("role", list(Role))
def test_matrix(action: str, role: Role) -> None:
    actor = ACTORS[role]
    if role in EXPECTED[action]:
        authorize(actor, action)
    else:
        with pytest.raises(Forbidden, match=action):
            authorize(actor, action)


def test_matrix_covers_the_whole_policy() -> None:
    assert set(EXPECTED) <= set(POLICY)


@pytest.mark.parametrize("action", [*sorted(EXPECTED), "no.such.action"])
def test_anonymous_is_unauthorized(action: str) -> None:
    with pytest.raises(Unauthorized):
        authorize(None, action)


@pytest.mark.parametrize("role", list(Role))
def test_unknown_action_is_denied_for_everyone(role: Role) -> None:
    with pytest.raises(Forbidden, match="Unknown action"):
        authorize(ACTORS[role], "case.teleport")


@dataclass
class Thing:
    """A stand-in resource, as a case or a data request will be."""

    region_code: str | None = None
    department_id: int | None = None


@pytest.fixture
def case_policy() -> Iterator[dict[str, Rule]]:
    """Adds actions the way the cases domain will, and removes them afterwards."""
    POLICY["test.case.accept"] = Rule.of(clerk="jurisdiction", official="department")
    POLICY["test.case.view"] = Rule.of(official="jurisdiction", steward="jurisdiction")
    yield POLICY
    del POLICY["test.case.accept"], POLICY["test.case.view"]


@pytest.mark.usefixtures("case_policy")
@pytest.mark.parametrize(
    ("role", "resource", "ok"),
    [
        (OFF, Thing("511602", 7), True),  # a county inside 广安市, own department
        (OFF, Thing("511600", 7), True),  # the jurisdiction root itself
        (OFF, Thing("511602001000", 7), True),  # a township further down
        (OFF, Thing("511702", 7), False),  # 达州: another prefecture
        (OFF, Thing("440305", 7), False),
        (OFF, Thing("511602", 8), False),  # another department
        (OFF, Thing(None, 7), True),  # a department resource without a region
        (OFF, Thing("511602", None), False),  # no department: not the official's
        (CLK, Thing("440305"), True),
        (CLK, Thing("440305003000"), True),
        (CLK, Thing("440306"), False),
        (CLK, Thing(None), False),  # jurisdiction scope needs a region
        (CLK, Thing("not-a-code"), False),
        (CIT, Thing("440305"), False),
        (STW, Thing("511602"), False),
        (ADM, Thing("511602", 7), False),  # admin has no case rights unless listed
    ],
)
def test_jurisdiction_and_department_scopes(role: Role, resource: Thing, ok: bool) -> None:
    assert allowed(ACTORS[role], "test.case.accept", resource) is ok


@pytest.mark.usefixtures("case_policy")
def test_steward_sees_whole_province_subtree() -> None:
    assert allowed(ACTORS[STW], "test.case.view", {"region_code": "511602"})
    assert not allowed(ACTORS[STW], "test.case.view", {"region_code": "440305"})
    assert allowed(ACTORS[OFF], "test.case.view", {"region_code": "511621"})
    assert not allowed(ACTORS[OFF], "test.case.view", {"region_code": "510100"})


def test_own_scope_compares_the_owner() -> None:
    mine = {"account_id": 1}
    theirs = {"account_id": 99}
    authorize(ACTORS[CIT], "tokens.manage_own", mine)
    with pytest.raises(Forbidden, match="someone else"):
        authorize(ACTORS[CIT], "tokens.manage_own", theirs)
    with pytest.raises(Forbidden, match="no owner"):
        authorize(ACTORS[CIT], "proxies.manage_own", object())
    authorize(ACTORS[CIT], "proxies.manage_own", {"principal_id": 1})


def test_forbidden_message_says_why() -> None:
    POLICY["test.x"] = Rule.of(official="department")
    try:
        with pytest.raises(Forbidden, match="another department"):
            authorize(ACTORS[OFF], "test.x", Thing("511602", 8))
        with pytest.raises(Forbidden, match="outside your jurisdiction"):
            authorize(ACTORS[OFF], "test.x", Thing("440305", 7))
    finally:
        del POLICY["test.x"]
