"""Objections (异议): the citizen objects to a line; the department's steward sees it with a
working-day deadline and answers; the answer comes back as a message and on the line; an
objection left unanswered past its due date is flagged to the operator."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.consent import tracker_world
from tests.consent.tracker_world import World, fetch, make_case, usage
from tongban.cases.models import Message
from tongban.consent import objections
from tongban.consent.tracker_models import Objection
from tongban.events.models import Event
from tongban.workdays import service as workdays

seeds_by_fixture = tracker_world.seeds_by_fixture
world = tracker_world.world


def _line(client: TestClient, db: Session, world: World) -> dict:
    case = make_case(db, world)
    fetch(client, world, case.number)
    return dict(usage(client, world)["items"][0])


def test_an_objection_goes_to_the_steward_and_the_answer_comes_back(
    client: TestClient, db: Session, world: World
) -> None:
    line = _line(client, db, world)
    url = f"/api/v1/my/data-usage/{line['id']}/objections"
    filed = client.post(url, json={"text": "我没有办理过这项业务"}, headers=world.h("citizen"))
    assert filed.status_code == 201, filed.text
    due = workdays.load_calendar(db).add_working_days(objections.today(), 10)
    assert filed.json()["due_date"] == due.isoformat()
    # Filed twice while the first waits: a conflict, nothing more written.
    again = client.post(url, json={"text": "再说一次"}, headers=world.h("citizen"))
    assert again.status_code == 409
    # The words are private: in `private`, never in the public data of the event.
    event = db.scalars(select(Event).where(Event.action == "data_usage.objected")).one()
    assert "我没有办理过这项业务" not in str(event.data)
    assert event.private == {"text": "我没有办理过这项业务"}

    listed = client.get("/api/v1/data-usage/objections", headers=world.h("steward"))
    assert listed.status_code == 200, listed.text
    [row] = listed.json()
    assert row["text"] == "我没有办理过这项业务" and row["overdue"] is False
    assert row["department"] == line["department"]
    # Nobody but a steward answers.
    for who in ("citizen", "official"):
        refused = client.post(
            f"/api/v1/data-usage/objections/{row['id']}/answer",
            json={"answer": "不行"},
            headers=world.h(who),
        )
        assert refused.status_code == 403, who
    answered = client.post(
        f"/api/v1/data-usage/objections/{row['id']}/answer",
        json={"answer": "经核查，系办理养老保险转移时依协议共享获取。"},
        headers=world.h("steward"),
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["answer"].startswith("经核查")
    # Back to the citizen: a message and the line.
    message = db.scalars(
        select(Message)
        .where(Message.account_id == world.accounts["citizen"].id)
        .order_by(Message.id.desc())
    ).first()
    assert message is not None and "经核查" in message.text
    again_line = client.get(
        f"/api/v1/my/data-usage/{line['id']}", headers=world.h("citizen")
    ).json()
    assert again_line["objection"]["answer"].startswith("经核查")
    twice = client.post(
        f"/api/v1/data-usage/objections/{row['id']}/answer",
        json={"answer": "再答"},
        headers=world.h("steward"),
    )
    assert twice.status_code == 409


def test_bad_objections_change_nothing(client: TestClient, db: Session, world: World) -> None:
    line = _line(client, db, world)
    url = f"/api/v1/my/data-usage/{line['id']}/objections"
    assert client.post(url, json={"text": ""}, headers=world.h("citizen")).status_code == 422
    # Someone else's line: not found (a relative objects only to their own).
    other = client.post(url, json={"text": "不是我"}, headers=world.h("relative"))
    assert other.status_code == 404
    assert db.scalars(select(Objection)).first() is None


def test_an_overdue_objection_is_flagged_to_the_operator(
    client: TestClient, db: Session, world: World
) -> None:
    line = _line(client, db, world)
    client.post(
        f"/api/v1/my/data-usage/{line['id']}/objections",
        json={"text": "为什么查我"},
        headers=world.h("citizen"),
    )
    assert (
        client.get("/api/v1/data-usage/objections/overdue", headers=world.h("admin")).json() == []
    )
    row = db.scalars(select(Objection)).one()
    row.due_date = date(2026, 1, 5)
    db.flush()
    late = client.get("/api/v1/data-usage/objections/overdue", headers=world.h("admin"))
    assert [r["id"] for r in late.json()] == [row.id] and late.json()[0]["overdue"] is True
    assert (
        client.get("/api/v1/data-usage/objections/overdue", headers=world.h("steward")).status_code
        == 403
    )
    page = client.get("/desk/data-objections", headers={**world.h("admin"), "Accept": "text/html"})
    assert page.status_code == 200 and "#" + str(row.id) in page.text
    line_now = client.get(f"/api/v1/my/data-usage/{line['id']}", headers=world.h("citizen"))
    assert line_now.json()["objection"]["overdue"] is True


def test_the_pages_file_and_answer_an_objection(
    client: TestClient, db: Session, world: World
) -> None:
    line = _line(client, db, world)
    citizen = {**world.h("citizen"), "Accept": "text/html"}
    html = client.get(f"/my/data-usage/{line['id']}", headers=citizen).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    empty = client.post(
        f"/my/data-usage/{line['id']}/objection",
        data={"csrf_token": token.group(1), "text": ""},
        headers=citizen,
    )
    assert empty.status_code == 422 and 'aria-invalid="true"' in empty.text
    sent = client.post(
        f"/my/data-usage/{line['id']}/objection",
        data={"csrf_token": token.group(1), "text": "我不知道这次查询"},
        headers=citizen,
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    steward = {**world.h("steward"), "Accept": "text/html"}
    desk = client.get("/desk/data-objections", headers=steward)
    assert "我不知道这次查询" in desk.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', desk.text)
    assert token
    row = db.scalars(select(Objection)).one()
    done = client.post(
        f"/desk/data-objections/{row.id}/answer",
        data={"csrf_token": token.group(1), "answer": "已核实，系依法共享。"},
        headers=steward,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    shown = client.get(f"/my/data-usage/{line['id']}", headers=citizen).text
    assert "已核实，系依法共享。" in shown
