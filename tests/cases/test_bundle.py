"""The newborn bundle (一件事) across its departments, joint handling (联办), 即办件."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.cases.conftest import PNG_BYTES, Clock, World
from tests.cases.test_story import act


def test_newborn_bundle_completes_across_departments(
    client: TestClient, world: World, clock: Clock, db: Session
) -> None:
    clock.set(2026, 4, 7)
    sha = client.post(
        "/api/v1/uploads", headers=world.h("migrant"), files={"file": ("ids.png", PNG_BYTES)}
    ).json()["sha256"]
    r = client.post(
        "/api/v1/cases",
        headers=world.h("migrant"),
        json={
            "bundle": "BUNDLE-NEWBORN-TEST",
            "form": {"baby_name": "李小宝"},
            "materials": [{"name": "父母身份证", "sha256": sha}],
        },
    )
    assert r.status_code == 201, r.text
    parent = r.json()
    assert parent["kind"] == "bundle" and parent["state"] == "in_progress"
    subs = parent["sub_cases"]
    assert [s["implementation_code"] for s in subs] == [
        "TEST-BIRTH-350200",
        "TEST-HUKOU-350200",
        "TEST-MEDINS-350200",
    ]
    # One set of materials: each department's sub-case carries what its checklist names.
    officials = {
        "TEST-BIRTH-350200": "birth_official",
        "TEST-HUKOU-350200": "hukou_official",
        "TEST-MEDINS-350200": "medins_official",
    }
    for sub in subs:
        who = officials[sub["implementation_code"]]
        queue = client.get("/api/v1/queue", headers=world.h(who)).json()["items"]
        assert [c["number"] for c in queue] == [sub["number"]]
        # Other departments do not see it: for them it does not exist.
        for other in set(officials.values()) - {who}:
            status = client.get(f"/api/v1/cases/{sub['number']}", headers=world.h(other))
            assert status.status_code == 404
    hukou = client.get(f"/api/v1/cases/{subs[1]['number']}", headers=world.h("hukou_official"))
    assert hukou.json()["parent"] == parent["number"]
    lines = {line["name"]: line["present"] for line in hukou.json()["checklist"]}
    assert lines == {"父母身份证": True, "出生医学证明": False}

    for i, sub in enumerate(subs):
        who = officials[sub["implementation_code"]]
        act(client, world, who, sub["number"], "accept")
        act(client, world, who, sub["number"], "approve", decision_text="准予")
        act(client, world, who, sub["number"], "complete")
        state = client.get(f"/api/v1/cases/{parent['number']}", headers=world.h("migrant")).json()
        assert state["state"] == ("completed" if i == len(subs) - 1 else "in_progress")
    done = client.get(f"/api/v1/cases/{parent['number']}", headers=world.h("migrant")).json()
    assert [s["state"] for s in done["sub_cases"]] == ["completed"] * 3
    assert done["timeline"][-1]["action"] == "case.bundle_settled"
    # The bundle itself takes no actions.
    r = client.post(
        f"/api/v1/cases/{parent['number']}/actions/withdraw",
        headers=world.h("migrant"),
        json={"version": done["version"]},
    )
    assert r.status_code == 409


def test_bundle_with_a_rejected_component_is_partially_completed(
    client: TestClient, world: World, clock: Clock
) -> None:
    clock.set(2026, 4, 7)
    sha = client.post(
        "/api/v1/uploads", headers=world.h("migrant"), files={"file": ("ids.png", PNG_BYTES)}
    ).json()["sha256"]
    parent = client.post(
        "/api/v1/cases",
        headers=world.h("migrant"),
        json={
            "bundle": "BUNDLE-NEWBORN-TEST",
            "materials": [{"name": "父母身份证", "sha256": sha}],
        },
    ).json()
    birth, hukou, medins = (s["number"] for s in parent["sub_cases"])
    act(client, world, "birth_official", birth, "accept")
    act(client, world, "birth_official", birth, "approve", decision_text="准予")
    act(client, world, "birth_official", birth, "complete")
    act(client, world, "hukou_official", hukou, "refuse", reason="材料不符")
    act(client, world, "medins_official", medins, "accept")
    act(client, world, "medins_official", medins, "reject", decision_text="不予", reason="已参保")
    state = client.get(f"/api/v1/cases/{parent['number']}", headers=world.h("migrant")).json()
    assert state["state"] == "in_progress"  # the rejected one is decided but not yet 办结
    act(client, world, "medins_official", medins, "complete")
    state = client.get(f"/api/v1/cases/{parent['number']}", headers=world.h("migrant")).json()
    assert state["state"] == "partially_completed"


def test_joint_handling_needs_every_co_handler_before_the_decision(
    client: TestClient, world: World, clock: Clock
) -> None:
    clock.set(2026, 5, 11)
    r = client.post(
        "/api/v1/cases",
        headers=world.h("migrant"),
        json={"item": "TEST-FUND-TRANSFER", "region": "440305"},
    )
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    assert r.json()["case_type"] == "联办件"
    assert [s["done"] for s in r.json()["steps"]] == [False]
    # The co-handler cannot act before acceptance, nor anyone else's step.
    case = act(client, world, "fund_official", number, "accept")
    # 20 natural days promised, 30 statutory (natural-day limits count calendar days).
    assert case["deadlines"]["promised"] == "2026-05-31"
    assert case["deadlines"]["statutory"] == "2026-06-10"
    r = client.post(
        f"/api/v1/cases/{number}/actions/approve",
        headers=world.h("fund_official"),
        json={"version": case["version"], "decision_text": "同意"},
    )
    assert r.status_code == 409 and "Co-handling" in r.json()["detail"]
    r = client.post(
        f"/api/v1/cases/{number}/actions/co-handle",
        headers=world.h("official"),
        json={"version": case["version"]},
    )
    assert r.status_code == 404  # the pension office is no co-handler here: it sees nothing
    co_queue = client.get(
        "/api/v1/queue", params={"view": "co-handling"}, headers=world.h("co_official")
    ).json()
    assert [c["number"] for c in co_queue["items"]] == [number]
    case = act(client, world, "co_official", number, "co-handle", note="已核对缴存记录")
    assert case["steps"][0]["done"] is True
    case = act(client, world, "fund_official", number, "approve", decision_text="同意转移")
    assert case["state"] == "approved"


def test_immediate_case_is_due_the_day_it_is_accepted(
    client: TestClient, world: World, clock: Clock
) -> None:
    # Accepted on the 调休 Saturday 14 Feb 2026 (a working day): due that same day.
    clock.set(2026, 2, 14)
    r = client.post(
        "/api/v1/cases", headers=world.h("migrant"), json={"implementation": "TEST-HUJI-440305"}
    )
    number = r.json()["number"]
    case = act(client, world, "huji_official", number, "accept")
    assert case["deadlines"]["promised"] == "2026-02-14"
    assert case["deadlines"]["statutory"] == "2026-02-14"
    assert case["urgency"] == "due_soon"
    # Not decided that day: overdue after the holiday.
    clock.set(2026, 2, 24)
    case = client.get(f"/api/v1/cases/{number}", headers=world.h("huji_official")).json()
    assert case["urgency"] == "overdue"
    queue = client.get("/api/v1/queue", headers=world.h("huji_official")).json()["items"]
    assert queue[0]["urgency"] == "overdue"


def _apply_for_newborn(client: TestClient, world: World) -> dict[str, Any]:
    """The migrant applies for the newborn bundle with one set of papers; the answer."""
    sha = client.post(
        "/api/v1/uploads", headers=world.h("migrant"), files={"file": ("ids.png", PNG_BYTES)}
    ).json()["sha256"]
    body = {"bundle": "BUNDLE-NEWBORN-TEST", "materials": [{"name": "父母身份证", "sha256": sha}]}
    r = client.post("/api/v1/cases", headers=world.h("migrant"), json=body)
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_withdrawing_a_bundle_withdraws_the_parts_not_yet_decided(
    client: TestClient, world: World, clock: Clock
) -> None:
    clock.set(2026, 4, 7)
    parent = _apply_for_newborn(client, world)
    number = parent["number"]
    assert parent["actions"] == ["withdraw"]
    birth, hukou, medins = (s["number"] for s in parent["sub_cases"])
    act(client, world, "birth_official", birth, "accept")
    act(client, world, "birth_official", birth, "approve", decision_text="准予")
    act(client, world, "hukou_official", hukou, "accept")
    url = f"/api/v1/cases/{number}/actions/withdraw"
    current = client.get(f"/api/v1/cases/{number}", headers=world.h("migrant")).json()

    assert client.post(url, headers=world.h("stranger"), json={"version": 1}).status_code in (
        403,
        404,
    )
    # Officials see the parts of a bundle, not the bundle: for them it does not exist.
    assert (
        client.post(url, headers=world.h("hukou_official"), json={"version": 1}).status_code == 404
    )
    stale = client.post(url, headers=world.h("migrant"), json={"version": current["version"] + 1})
    assert stale.status_code == 412
    r = client.post(
        url, headers=world.h("migrant"), json={"version": current["version"], "reason": "不办了"}
    )
    assert r.status_code == 200, r.text
    done = r.json()
    states = {s["number"]: s["state"] for s in done["sub_cases"]}
    # The birth certificate was decided: it stands, and its department still completes it.
    assert states == {birth: "approved", hukou: "withdrawn", medins: "withdrawn"}
    assert done["state"] == "in_progress" and done["actions"] == []
    again = client.post(url, headers=world.h("migrant"), json={"version": done["version"]})
    assert again.status_code == 409
    act(client, world, "birth_official", birth, "complete")
    settled = client.get(f"/api/v1/cases/{number}", headers=world.h("migrant")).json()
    assert settled["state"] == "partially_completed"
    withdrawn = client.get(f"/api/v1/cases/{hukou}", headers=world.h("migrant")).json()
    assert withdrawn["timeline"][-1]["action"] == "case.withdraw"
    assert withdrawn["reason"] == "不办了"


def test_a_bundle_withdrawn_whole_is_withdrawn(
    client: TestClient, world: World, clock: Clock
) -> None:
    clock.set(2026, 4, 7)
    parent = _apply_for_newborn(client, world)
    r = client.post(
        f"/api/v1/cases/{parent['number']}/actions/withdraw",
        headers=world.h("migrant"),
        json={"version": parent["version"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "withdrawn"
    assert {s["state"] for s in r.json()["sub_cases"]} == {"withdrawn"}
    inbox = client.get("/api/v1/my/messages", headers=world.h("migrant")).json()["items"]
    about_bundle = [m for m in inbox if m["case_number"] == parent["number"]]
    assert about_bundle[0]["kind"] == "withdrawn"
