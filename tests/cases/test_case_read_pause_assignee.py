"""The API's case read says what the case page says (issue #14): why the clock is stopped
(kind, reason, since, working days, a special procedure's expected end) and, to officials of
the case's department only, who works the case. Both fields are optional: absent means none."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.cases.conftest import Clock, World, service_act, submit_pension
from tests.cases.test_reassign import add_colleague, assign
from tongban.platform.config import Settings


def _read(client: TestClient, world: World, who: str, number: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/cases/{number}", headers=world.h(who))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_special_procedure_and_a_supplement_are_in_the_case_read(
    client: TestClient, db: Session, world: World, settings: Settings, clock: Clock
) -> None:
    clock.set(2026, 3, 2)
    case = submit_pension(db, world, settings)
    assert _read(client, world, "official", case.number)["pause"] is None
    case = service_act(db, world, settings, "official", case, "accept")
    clock.set(2026, 3, 4)
    case = service_act(
        db,
        world,
        settings,
        "official",
        case,
        "start-special",
        reason="需现场核查",
        expected_end="2026-03-20",
    )
    clock.set(2026, 3, 6)
    for who in ("official", "migrant", "clerk"):
        pause = _read(client, world, who, case.number)["pause"]
        assert pause == {
            "kind": "special",
            "reason": "需现场核查",
            "since": "2026-03-04",
            "working_days": 2,
            "expected_end": "2026-03-20",
        }, who
    case = service_act(db, world, settings, "official", case, "end-special")
    assert _read(client, world, "migrant", case.number)["pause"] is None


def test_a_supplement_pause_has_no_expected_end(
    client: TestClient, db: Session, world: World, settings: Settings, clock: Clock
) -> None:
    clock.set(2026, 3, 2)
    case = submit_pension(db, world, settings)
    service_act(
        db,
        world,
        settings,
        "official",
        case,
        "request-supplement",
        missing=["户口簿"],
        reason="缺户口簿",
    )
    pause = _read(client, world, "migrant", case.number)["pause"]
    assert pause["kind"] == "supplement" and pause["since"] == "2026-03-02"
    assert pause["expected_end"] is None


def test_the_assignee_is_told_to_the_departments_officials_only(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    colleague = add_colleague(db, world, settings)
    case = submit_pension(db, world, settings)
    assert _read(client, world, "official", case.number)["assignee"] is None
    r = assign(client, world, "official", case.number, assignee=colleague.id, version=case.version)
    assert r.status_code == 200, r.text
    for who in ("official", "colleague"):
        assert _read(client, world, who, case.number)["assignee"] == {
            "account_id": colleague.id,
            "name": "王芳",
        }
    # The applicant and the clerk who filed it see the case, not who inside works it.
    for who in ("migrant", "clerk"):
        assert _read(client, world, who, case.number)["assignee"] is None
