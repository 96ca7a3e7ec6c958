"""Every role against every transition, and bad input leaving the case unchanged."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cases.conftest import (
    ACTION_BODIES,
    PNG_BYTES,
    World,
    pension_request,
    service_act,
    submit_pension,
)
from tests.support import cases_internals as cases
from tongban.events.models import Event
from tongban.platform.config import Settings

ACTORS = [
    "migrant",
    "relative",
    "lapsed",
    "stranger",
    "clerk",
    "far_clerk",
    "official",
    "outside",
    "other_dept",
    "fund_official",
    "steward",
    "admin",
]
APPLICANT_SIDE = {"migrant", "relative", "clerk"}
# Who may read the pension case; to everyone else it does not exist (404, not 403).
READERS = APPLICANT_SIDE | {"official"}
# How to bring a fresh (received) pension case into the state each action starts from.
SETUP: dict[str, list[str]] = {
    "accept": [],
    "refuse": [],
    "request-supplement": [],
    "withdraw": [],
    "supplement": ["request-supplement"],
    "start-special": ["accept"],
    "approve": ["accept"],
    "reject": ["accept"],
    "end-special": ["accept", "start-special"],
    "complete": ["accept", "approve"],
}


def snapshot(db: Session, number: str) -> tuple[str, int, int]:
    """(state, version, number of events) of a case, read fresh."""
    db.expire_all()
    case = cases.get_case(db, number=number)
    events = db.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.resource_type == "case", Event.resource_id == number)
    )
    return case.state, case.version, int(events or 0)


def test_every_role_against_every_transition(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    outcomes: dict[tuple[str, str], int] = {}
    for action, steps in SETUP.items():
        for who in ACTORS:
            case = submit_pension(db, world, settings)
            for step in steps:
                case = service_act(
                    db, world, settings, "official", case, step, **ACTION_BODIES[step]
                )
            before = snapshot(db, case.number)
            r = client.post(
                f"/api/v1/cases/{case.number}/actions/{action}",
                headers=world.h(who),
                json={"version": case.version, **ACTION_BODIES[action]},
            )
            outcomes[(action, who)] = r.status_code
            if r.status_code != 200:
                assert r.headers["content-type"] == "application/problem+json"
                assert snapshot(db, case.number) == before, (action, who)
            else:
                assert snapshot(db, case.number)[1] == before[1] + 1
    expected = {
        (action, who): 200
        if (who == "official" and action not in ("supplement", "withdraw"))
        or (who in APPLICANT_SIDE and action in ("supplement", "withdraw"))
        else 403
        if who in READERS
        else 404
        for action in SETUP
        for who in ACTORS
    }
    assert outcomes == expected


def test_forbidden_reasons_are_clear(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    case = submit_pension(db, world, settings)
    body = {"version": case.version}
    url = f"/api/v1/cases/{case.number}/actions/"
    citizen = client.post(url + "accept", headers=world.h("migrant"), json=body).json()
    assert citizen["status"] == 403 and "citizen" in citizen["detail"]
    official = client.post(url + "withdraw", headers=world.h("official"), json=body).json()
    assert official["status"] == 403 and "official" in official["detail"]
    # Those who may not read the case are told what an unknown number gets, and no reason.
    for who, action in (("outside", "accept"), ("other_dept", "accept"), ("lapsed", "withdraw")):
        hidden = client.post(url + action, headers=world.h(who), json=body).json()
        assert hidden["status"] == 404 and hidden["detail"] == f"No case {case.number}.", who
    anonymous = client.post(url + "accept", json=body)
    assert anonymous.status_code == 401


def test_reading_a_case_is_limited_to_its_parties(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    case = submit_pension(db, world, settings)
    allowed = {"migrant", "relative", "clerk", "official"}
    for who in ACTORS:
        status = client.get(f"/api/v1/cases/{case.number}", headers=world.h(who)).status_code
        assert status == (200 if who in allowed else 404), who


def test_illegal_transition_and_stale_version_leave_the_case_unchanged(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    case = submit_pension(db, world, settings)
    before = snapshot(db, case.number)
    url = f"/api/v1/cases/{case.number}/actions/"
    r = client.post(url + "complete", headers=world.h("official"), json={"version": case.version})
    assert r.status_code == 409 and "received" in r.json()["detail"]
    r = client.post(url + "accept", headers=world.h("official"), json={"version": case.version + 5})
    assert r.status_code == 412
    assert r.json()["errors"][0]["field"] == "version"
    r = client.post(url + "fly", headers=world.h("official"), json={"version": case.version})
    assert r.status_code == 404
    # Missing fields per action: 422 naming the field.
    r = client.post(url + "refuse", headers=world.h("official"), json={"version": case.version})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = client.post(
        url + "request-supplement", headers=world.h("official"), json={"version": case.version}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "missing"
    assert snapshot(db, case.number) == before


def _submit(client: TestClient, world: World, who: str, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/cases", headers=world.h(who), json=body)


def test_bad_submissions_are_refused_with_clear_problems(
    client: TestClient, db: Session, world: World
) -> None:
    sha = client.post(
        "/api/v1/uploads", headers=world.h("clerk"), files={"file": ("id.png", PNG_BYTES)}
    ).json()["sha256"]
    full = [{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}]
    count_before = db.scalar(select(func.count()).select_from(cases.Case))

    r = _submit(client, world, "clerk", pension_request(implementation="NOPE-0000", materials=full))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "implementation"

    r = _submit(
        client,
        world,
        "clerk",
        pension_request(implementation=None, item="TEST-NOT-OFFERED", materials=full),
    )
    assert r.status_code == 422 and "not offered in any region" in r.json()["detail"]

    r = _submit(client, world, "clerk", pension_request(materials=full[:1]))
    assert r.status_code == 422 and "转移申请表" in r.json()["detail"]

    r = _submit(
        client, world, "clerk", pension_request(materials=[*full, {"name": "照片", "sha256": sha}])
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "materials[2].name"

    r = _submit(client, world, "clerk", pension_request(materials=full, form={}))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "form.transfer_reason"

    unconfirmed = pension_request(materials=full)
    unconfirmed["applicant"]["identity_confirmed"] = False
    r = _submit(client, world, "clerk", unconfirmed)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "applicant.identity_confirmed"

    bad_id = pension_request(materials=full)
    bad_id["applicant"]["resident_id"] = "51160219850601001X"
    r = _submit(client, world, "clerk", bad_id)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "applicant.resident_id"

    proxy = pension_request(
        materials=full, applicant=None, on_behalf_of=world.accounts["migrant"].id
    )
    r = _submit(client, world, "lapsed", proxy)
    assert r.status_code == 403 and "expired" in r.json()["detail"]
    r = _submit(client, world, "stranger", proxy)
    assert r.status_code == 403

    r = _submit(client, world, "official", pension_request(materials=full))
    assert r.status_code == 403
    assert db.scalar(select(func.count()).select_from(cases.Case)) == count_before

    # The relative with a valid authorisation may apply for him (亲友代办), with papers the
    # relative uploaded (not the clerk's).
    assert _submit(client, world, "relative", proxy).status_code == 422
    own = client.post(
        "/api/v1/uploads", headers=world.h("relative"), files={"file": ("id.png", PNG_BYTES)}
    ).json()["sha256"]
    proxy["materials"] = [{"name": n, "sha256": own} for n in ("居民身份证", "转移申请表")]
    r = _submit(client, world, "relative", proxy)
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "proxy" and r.json()["applicant_name"] == "李建国"


def test_idempotent_submit(client: TestClient, db: Session, world: World) -> None:
    sha = client.post(
        "/api/v1/uploads", headers=world.h("migrant"), files={"file": ("id.png", PNG_BYTES)}
    ).json()["sha256"]
    body = pension_request(
        applicant=None,
        materials=[{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}],
    )
    headers = world.h("migrant", **{"Idempotency-Key": "retry-me"})
    first = client.post("/api/v1/cases", headers=headers, json=body)
    again = client.post("/api/v1/cases", headers=headers, json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["number"] == again.json()["number"]
    assert first.json()["channel"] == "api"
    n = db.scalar(
        select(func.count()).select_from(cases.Case).where(cases.Case.idempotency_key == "retry-me")
    )
    assert n == 1
    other = client.post(
        "/api/v1/cases", headers=headers, json={**body, "form": {"transfer_reason": "x"}}
    )
    assert other.status_code == 409
    # Another caller's identical key is their own.
    theirs = client.post(
        "/api/v1/cases",
        headers=world.h("relative", **{"Idempotency-Key": "retry-me"}),
        json={**body, "on_behalf_of": world.accounts["migrant"].id},
    )
    assert theirs.status_code == 201 and theirs.json()["number"] != first.json()["number"]
