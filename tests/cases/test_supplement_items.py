"""补正 as 一次性告知 through the API: the official asks for named items (a checklist line and an
extra item off the checklist), each with a note; the applicant answers item by item in rounds;
the clock runs again only when every item is answered."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.cases.conftest import MIGRANT_ID, PNG_BYTES, Clock, World, pdf_bytes
from tests.cases.test_rules import snapshot
from tests.cases.test_story import act, upload
from tests.support import cases_internals as cases
from tongban.events.models import Event


def _file_and_accept(client: TestClient, world: World, clock: Clock) -> str:
    """Monday 2 March 2026: filed at the counter; Tuesday 3 March: accepted."""
    clock.set(2026, 3, 2)
    id_card = upload(client, world, "clerk", PNG_BYTES, "id.png")
    form = upload(client, world, "clerk", pdf_bytes(2), "application.pdf")
    r = client.post(
        "/api/v1/cases",
        headers=world.h("clerk"),
        json={
            "implementation": "TEST-PENSION-511602",
            "form": {"transfer_reason": "跨省就业"},
            "materials": [
                {"name": "居民身份证", "sha256": id_card},
                {"name": "转移申请表", "sha256": form},
            ],
            "applicant": {"resident_id": MIGRANT_ID, "name": "李建国", "identity_confirmed": True},
        },
    )
    assert r.status_code == 201, r.text
    number = str(r.json()["number"])
    clock.set(2026, 3, 3)
    case = act(client, world, "official", number, "accept")
    assert case["deadlines"]["promised"] == "2026-03-17"
    assert case["deadlines"]["statutory"] == "2026-03-24"
    return number


def _request_two(client: TestClient, world: World, number: str) -> dict[str, Any]:
    """Thursday 5 March: one checklist line and one extra item, each with its note."""
    return act(
        client,
        world,
        "official",
        number,
        "request-supplement",
        reason="材料不全",
        items=[
            {"name": "其他证明材料", "note": "原单位出具的离职证明，需加盖公章"},
            {"name": "户口簿", "origin": "extra", "note": "户主页和本人页"},
        ],
    )


def _supplement(client: TestClient, world: World, who: str, number: str, **body: Any) -> Any:
    version = client.get(f"/api/v1/cases/{number}", headers=world.h(who)).json()["version"]
    return client.post(
        f"/api/v1/cases/{number}/actions/supplement",
        headers=world.h(who),
        json={"version": version, **body},
    )


def test_two_items_answered_in_two_rounds_resume_the_clock_after_the_second(
    client: TestClient, world: World, clock: Clock, db: Session
) -> None:
    number = _file_and_accept(client, world, clock)
    clock.set(2026, 3, 5)
    case = _request_two(client, world, number)
    assert case["state"] == "supplement_requested" and case["deadlines"]["paused"] is True
    items = case["supplement_items"]
    assert [(i["name"], i["origin"], i["state"], i["done"]) for i in items] == [
        ("其他证明材料", "checklist", "requested", False),
        ("户口簿", "extra", "requested", False),
    ]
    assert items[0]["note"] == "原单位出具的离职证明，需加盖公章"
    assert case["missing"] == ["其他证明材料", "户口簿"]
    proof_id, booklet_id = items[0]["id"], items[1]["id"]

    # Round 1 on Monday 9 March (the migrant himself): two files for the checklist line.
    clock.set(2026, 3, 9)
    page1 = upload(client, world, "migrant", pdf_bytes(1), "proof-1.pdf")
    page2 = upload(client, world, "migrant", pdf_bytes(3), "proof-2.pdf")
    r = _supplement(
        client, world, "migrant", number, answers=[{"item": proof_id, "files": [page1, page2]}]
    )
    assert r.status_code == 200, r.text
    case = r.json()
    # The extra item is still open: the request stands and the clock stays stopped.
    assert case["state"] == "supplement_requested"
    assert case["deadlines"]["paused"] is True
    assert case["missing"] == ["户口簿"]
    states = {i["name"]: (i["state"], i["done"], i["files"]) for i in case["supplement_items"]}
    assert states == {
        "其他证明材料": ("answered", True, [page1, page2]),
        "户口簿": ("requested", False, []),
    }
    # The projection moves on while paused; nothing is stored as paused yet.
    assert case["deadlines"]["promised"] == "2026-03-19"  # Fri 6 and Mon 9 paused so far
    checklist = {line["name"]: line for line in case["checklist"]}
    assert checklist["其他证明材料"]["present"] and checklist["其他证明材料"]["files"] == [
        page1,
        page2,
    ]

    # Round 2 on Tuesday 10 March: the extra item (off the checklist) gets its file.
    clock.set(2026, 3, 10)
    booklet = upload(client, world, "migrant", PNG_BYTES, "hukou.png")
    r = _supplement(
        client, world, "migrant", number, answers=[{"item": booklet_id, "files": [booklet]}]
    )
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["state"] == "accepted"
    assert case["deadlines"]["paused"] is False
    # Fri 6, Mon 9, Tue 10: three working days paused, every deadline moves by three.
    assert case["deadlines"]["paused_working_days"] == 3
    assert case["deadlines"]["promised"] == "2026-03-20"
    assert case["deadlines"]["statutory"] == "2026-03-27"
    assert case["due_date"] == "2026-03-20"
    assert case["missing"] == []
    assert all(i["done"] for i in case["supplement_items"])

    # Each round is kept: the files with their round, one event per round with counts only.
    db.expire_all()
    row = cases.get_case(db, number=number)
    rounds = sorted((m.name, m.round) for m in row.materials if m.round > 0)
    assert rounds == [("其他证明材料", 1), ("其他证明材料", 1), ("户口簿", 2)]
    events = [e for e in _events(db, number) if e.action == "case.supplement"]
    assert [e.data["to"] for e in events] == ["supplement_requested", "accepted"]
    assert [(e.data["round"], e.data["file_count"], e.data["open_count"]) for e in events] == [
        (1, 2, 1),
        (2, 1, 0),
    ]
    assert events[1].private is not None and events[1].private["answers"][0]["name"] == "户口簿"
    request = next(e for e in _events(db, number) if e.action == "case.request-supplement")
    assert request.data["missing_count"] == 2
    assert (request.data["checklist_count"], request.data["extra_count"]) == (1, 1)
    assert "户口簿" not in str(request.data)
    # The applicant was told once the request cleared, not after the first round.
    kinds = [
        m["kind"]
        for m in client.get("/api/v1/my/messages", headers=world.h("migrant")).json()["items"]
    ]
    assert kinds.count("supplemented") == 1


def _events(db: Session, number: str) -> list[Event]:
    return list(
        db.query(Event)
        .filter(Event.resource_type == "case", Event.resource_id == number)
        .order_by(Event.id)
    )


def test_answering_what_was_not_asked_for_is_422_and_changes_nothing(
    client: TestClient, world: World, clock: Clock, db: Session
) -> None:
    number = _file_and_accept(client, world, clock)
    clock.set(2026, 3, 5)
    case = _request_two(client, world, number)
    proof_id = case["supplement_items"][0]["id"]
    before = snapshot(db, number)
    file = upload(client, world, "migrant", PNG_BYTES, "id.png")
    refused = [
        # A checklist line that was not requested (by name, as before) ...
        ({"materials": [{"name": "居民身份证", "sha256": file}]}, "materials[0].name"),
        # ... an item id of no request ...
        ({"answers": [{"item": proof_id + 1000, "files": [file]}]}, "answers[0].item"),
        # ... a good item with a bad one: nothing of the round is kept.
        (
            {
                "answers": [
                    {"item": proof_id, "files": [file]},
                    {"item": proof_id + 1000, "explanation": "没有"},
                ]
            },
            "answers[1].item",
        ),
        ({"answers": [{"item": proof_id}]}, "answers[0]"),
    ]
    for body, field in refused:
        r = _supplement(client, world, "migrant", number, **body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["errors"][0]["field"] == field
        if field.endswith(".item") or field.endswith(".name"):
            assert "was not asked for in this 补正 request" in problem["detail"]
        assert snapshot(db, number) == before
    db.expire_all()
    row = cases.get_case(db, number=number)
    assert [m for m in row.materials if m.round > 0] == []
    assert all(i.state == "requested" and i.files == [] for i in row.supplement_items)
    assert _count(db, number) == before[2]

    # A good round, then the same request again (a double click, a retry): the version it
    # carries is stale, so the retry is a 412 and the round is kept once.
    body = {"version": before[1], "answers": [{"item": proof_id, "files": [file]}]}
    url = f"/api/v1/cases/{number}/actions/supplement"
    assert client.post(url, headers=world.h("migrant"), json=body).status_code == 200
    retry = client.post(url, headers=world.h("migrant"), json=body)
    assert retry.status_code == 412 and retry.json()["errors"][0]["field"] == "version"
    db.expire_all()
    row = cases.get_case(db, number=number)
    assert [(m.name, m.round) for m in row.materials if m.round > 0] == [("其他证明材料", 1)]
    assert row.version == before[1] + 1


def _count(db: Session, number: str) -> int:
    return len(_events(db, number))


def test_an_explanation_counts_once_the_official_accepts_it(
    client: TestClient, world: World, clock: Clock, db: Session
) -> None:
    number = _file_and_accept(client, world, clock)
    clock.set(2026, 3, 5)
    case = _request_two(client, world, number)
    proof_id, booklet_id = (i["id"] for i in case["supplement_items"])
    clock.set(2026, 3, 6)
    proof = upload(client, world, "clerk", pdf_bytes(1), "proof.pdf")
    r = _supplement(
        client,
        world,
        "clerk",
        number,
        answers=[
            {"item": proof_id, "files": [proof]},
            {"item": booklet_id, "explanation": "户口簿在老家，已寄出，下周到"},
        ],
    )
    assert r.status_code == 200, r.text
    case = r.json()
    # Every line answered, but one only by an explanation: still waiting for the official.
    assert case["state"] == "supplement_requested" and case["missing"] == ["户口簿"]
    assert "review-supplement" in case["actions"]

    # The official asks again for the booklet (with a new note) ...
    clock.set(2026, 3, 9)
    case = act(
        client,
        world,
        "official",
        number,
        "review-supplement",
        reviews=[{"item": booklet_id, "decision": "again", "note": "请上传户口簿照片即可"}],
    )
    booklet = next(i for i in case["supplement_items"] if i["id"] == booklet_id)
    assert (booklet["state"], booklet["note"], booklet["explanation"]) == (
        "requested",
        "请上传户口簿照片即可",
        None,
    )
    assert case["state"] == "supplement_requested"
    # ... accepting an item not answered is refused, nothing changed ...
    version = case["version"]
    r = client.post(
        f"/api/v1/cases/{number}/actions/review-supplement",
        headers=world.h("official"),
        json={"version": version, "reviews": [{"item": booklet_id, "decision": "accept"}]},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reviews[0].item"
    # ... the applicant explains again, and the official accepts: the clock runs again.
    r = _supplement(
        client,
        world,
        "migrant",
        number,
        answers=[{"item": booklet_id, "explanation": "户口簿遗失，正在补办，附派出所证明"}],
    )
    assert r.status_code == 200 and r.json()["state"] == "supplement_requested"
    clock.set(2026, 3, 10)
    case = act(
        client,
        world,
        "official",
        number,
        "review-supplement",
        reviews=[{"item": booklet_id, "decision": "accept"}],
    )
    assert case["state"] == "accepted"
    assert case["deadlines"]["paused_working_days"] == 3
    assert case["deadlines"]["promised"] == "2026-03-20"
    # The applicant may not review; the official may not answer.
    r = client.post(
        f"/api/v1/cases/{number}/actions/review-supplement",
        headers=world.h("migrant"),
        json={"version": case["version"], "reviews": [{"item": proof_id, "decision": "accept"}]},
    )
    assert r.status_code == 403


def test_a_request_names_checklist_lines_that_exist_and_nothing_twice(
    client: TestClient, world: World, clock: Clock, db: Session
) -> None:
    number = _file_and_accept(client, world, clock)
    before = snapshot(db, number)
    url = f"/api/v1/cases/{number}/actions/request-supplement"
    for items, field in (
        ([{"name": "户口簿"}], "items[0].name"),  # off the checklist, not marked extra
        (
            [{"name": "户口簿", "origin": "extra"}, {"name": "户口簿", "origin": "extra"}],
            "items[1].name",
        ),
    ):
        r = client.post(
            url, headers=world.h("official"), json={"version": before[1], "items": items}
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == field
        assert snapshot(db, number) == before
    row = cases.get_case(db, number=number)
    assert row.supplement_items == []


def test_a_submission_reads_no_supplement_items(
    client: TestClient, world: World, clock: Clock
) -> None:
    # A new case has none: its answer (built right after the INSERT) needs no query for them.
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    seen: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "case_supplement_items" in statement:
            seen.append(statement)

    clock.set(2026, 3, 2)
    sha = upload(client, world, "clerk", PNG_BYTES, "id.png")
    event.listen(Engine, "before_cursor_execute", spy)
    try:
        r = client.post(
            "/api/v1/cases",
            headers=world.h("clerk"),
            json={
                "implementation": "TEST-PENSION-511602",
                "form": {"transfer_reason": "跨省就业"},
                "materials": [
                    {"name": "居民身份证", "sha256": sha},
                    {"name": "转移申请表", "sha256": sha},
                ],
                "applicant": {
                    "resident_id": MIGRANT_ID,
                    "name": "李建国",
                    "identity_confirmed": True,
                },
            },
        )
    finally:
        event.remove(Engine, "before_cursor_execute", spy)
    assert r.status_code == 201, r.text
    assert r.json()["supplement_items"] == []
    assert seen == []
