"""The data tracker (我的数据使用记录): a fetch, a look at the full ID and an opened paper each
make a line for the applicant, newest first, filterable, paginated; each line's receipt
verifies offline and its opening proves the entry is about the applicant; nobody else reads
the tracker (refused and recorded) but a relative within a proxy's scope."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.consent import tracker_world
from tests.consent.tracker_world import World, fetch, make_case, usage
from tongban.consent import tracker
from tongban.consent.tracker_models import DataUse
from tongban.events.models import Event
from tongban.ledger import service as ledger
from tongban.platform.config import Settings
from tongban.shell.cli import app as cli

seeds_by_fixture = tracker_world.seeds_by_fixture
world = tracker_world.world


def test_a_fetch_is_a_line_whose_receipt_verifies_offline_and_opens_to_the_applicant(
    client: TestClient, db: Session, world: World, settings: Settings, tmp_path: Path
) -> None:
    case = make_case(db, world)
    fetch(client, world, case.number)
    items = usage(client, world)["items"]
    assert len(items) == 1
    line = items[0]
    assert line["action"] == "exchange.fetched" and line["kind"] == "fetch"
    assert line["case"] == case.number
    assert line["department"] == world.departments["pension"].code
    assert line["department_name"] == world.departments["pension"].name
    assert line["purpose"] == "核验参保缴费情况"
    assert line["fields"] and line["outcome"] == "fetched"
    # The fields as the provider names them, for people who do not read field codes.
    assert len(line["field_labels"]) == len(line["fields"]) and "姓名" in line["field_labels"]
    official = world.accounts["official"]
    name = official.display_name.split()[-1]
    assert line["official"] == name[:1] + "*" * (len(name) - 1)
    assert line["official_number"] == f"{official.id:06d}"
    event_uid = line["event_uid"]
    assert line["ledger_receipt"] == f"/api/v1/ledger/receipts/{event_uid}"

    # Before the ledger sequences the step there is no receipt yet; then there is.
    assert client.get(line["own_receipt"], headers=world.h("citizen")).status_code == 409
    ledger.integrate_pending(db, settings=settings)
    public = client.get(line["ledger_receipt"])
    assert public.status_code == 200
    mine = client.get(line["own_receipt"], headers=world.h("citizen"))
    assert mine.status_code == 200, mine.text
    receipt = mine.json()
    opened = receipt["opening"]["committed"]
    assert opened["resource_id"] == case.number
    assert opened["personal"]["subject"]["resident_id"].startswith("5")
    assert "*" in opened["personal"]["subject"]["resident_id"]  # masked, even here
    assert opened["private"]["purpose"] == "核验参保缴费情况"

    # Offline: the CLI checks the proof and the opening, and names the subject.
    key = ledger.public_key(settings)
    path = tmp_path / "my-receipt.json"
    path.write_text(json.dumps(receipt, ensure_ascii=False))
    runner = CliRunner()
    result = runner.invoke(cli, ["ledger", "verify-receipt", str(path), "--key", key])
    assert result.exit_code == 0, result.output
    assert event_uid in result.output
    assert "OPENED" in result.output
    assert opened["personal"]["subject"]["resident_id"] in result.output

    # A changed opening fails: the subject cannot be swapped for someone else's.
    forged = dict(receipt, opening=dict(receipt["opening"]))
    forged["opening"]["committed"] = dict(
        opened, personal={"subject": {"resident_id": "110101**********1234"}}
    )
    path.write_text(json.dumps(forged, ensure_ascii=False))
    result = runner.invoke(cli, ["ledger", "verify-receipt", str(path), "--key", key])
    assert result.exit_code == 1
    assert "opening" in result.output.lower()

    # The public leaf alone names nobody: no name, no ID, no account; only a commitment.
    leaf = public.json()["entry"]
    text = json.dumps(leaf, ensure_ascii=False)
    assert "王建国" not in text and opened["personal"]["subject"]["resident_id"] not in text
    assert "actor_id" not in leaf and "personal" not in leaf
    assert "核验参保缴费情况" not in text


def test_two_uses_of_the_same_person_commit_differently(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    case = make_case(db, world)
    fetch(client, world, case.number)
    fetch(client, world, case.number)
    ledger.integrate_pending(db, settings=settings)
    items = usage(client, world)["items"]
    assert len(items) == 2
    leaves = [client.get(item["ledger_receipt"]).json()["entry"] for item in items]
    assert leaves[0]["commitment"] != leaves[1]["commitment"]
    # Everything public in the two leaves that could link them to a person is the same as for
    # any fetch of that resource for that case: nothing about the person.
    for leaf in leaves:
        assert set(leaf) & {"actor_id", "on_behalf_of_id", "personal", "private", "reason"} == set()


def test_a_look_at_the_full_id_and_an_opened_paper_are_lines_too(
    client: TestClient, db: Session, world: World
) -> None:
    case = make_case(db, world)
    looked = client.post(
        f"/api/v1/cases/{case.number}/applicant-id",
        json={"purpose": "与户籍底册核对"},
        headers=world.h("official"),
    )
    assert looked.status_code == 200, looked.text
    items = usage(client, world)["items"]
    assert [i["action"] for i in items] == ["case.applicant_id_viewed"]
    assert items[0]["purpose"] == "与户籍底册核对"
    assert items[0]["kind"] == "id_view"


def test_newest_first_by_department_and_period_with_a_cursor(
    client: TestClient, db: Session, world: World
) -> None:
    case = make_case(db, world)
    for n in range(5):
        fetch(client, world, case.number, purpose=f"核验 {n}")
    first = usage(client, world, limit="2")
    assert [i["purpose"] for i in first["items"]] == ["核验 4", "核验 3"]
    second = usage(client, world, limit="2", cursor=first["next_cursor"])
    assert [i["purpose"] for i in second["items"]] == ["核验 2", "核验 1"]
    last = usage(client, world, limit="2", cursor=second["next_cursor"])
    assert [i["purpose"] for i in last["items"]] == ["核验 0"] and last["next_cursor"] is None
    assert usage(client, world, department="NOSUCHDEPARTMENT")["items"] == []
    code = world.departments["pension"].code
    assert len(usage(client, world, department=code)["items"]) == 5
    at = db.scalars(select(DataUse.occurred_at)).first()
    assert at is not None
    day = tracker.cases.local_date(at)
    assert len(usage(client, world, since=str(day), until=str(day))["items"]) == 5
    later = str(day + timedelta(days=1))
    assert usage(client, world, since=later)["items"] == []
    bad = client.get(
        "/api/v1/my/data-usage", params={"cursor": "not-ours"}, headers=world.h("citizen")
    )
    assert bad.status_code == 422


def test_another_persons_tracker_is_refused_and_recorded_a_proxy_reads_it(
    client: TestClient, db: Session, world: World
) -> None:
    case = make_case(db, world)
    fetch(client, world, case.number)
    citizen = world.accounts["citizen"]
    # The relative holds the demo proxy for the citizen: they see the line.
    seen = usage(client, world, "relative", subject=str(citizen.id))
    assert seen["subject"] == citizen.id and len(seen["items"]) == 1
    # The citizen holds no proxy for the relative: refused, recorded, nothing else changed.
    before = db.scalar(select(DataUse.id).order_by(DataUse.id.desc()))
    relative = world.accounts["relative"]
    refused = client.get(
        "/api/v1/my/data-usage", params={"subject": relative.id}, headers=world.h("citizen")
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    event = db.scalars(
        select(Event).where(Event.action == "data_usage.read_refused").order_by(Event.id.desc())
    ).first()
    assert event is not None and event.actor_id == citizen.id
    assert event.resource_id == str(relative.id)
    assert db.scalar(select(DataUse.id).order_by(DataUse.id.desc())) == before
    # A line of someone else's is not found; its own receipt is for its subject alone.
    line = seen["items"][0]
    assert client.get(line["own_receipt"], headers=world.h("relative")).status_code == 403
    other = client.get(f"/api/v1/my/data-usage/{line['id']}", headers=world.h("official"))
    assert other.status_code == 403


def test_the_tracker_page_lists_the_use_with_its_receipt_link(
    client: TestClient, db: Session, world: World
) -> None:
    case = make_case(db, world)
    fetch(client, world, case.number)
    page = client.get("/my/data-usage", headers={**world.h("citizen"), "Accept": "text/html"})
    assert page.status_code == 200, page.text
    line = usage(client, world)["items"][0]
    assert f'href="/ledger/receipts/{line["event_uid"]}"' in page.text
    assert case.number in page.text
    detail = client.get(
        f"/my/data-usage/{line['id']}", headers={**world.h("citizen"), "Accept": "text/html"}
    )
    assert detail.status_code == 200
    assert f'action="/my/data-usage/{line["id"]}/objection"' in detail.text
    bad = client.get("/my/data-usage", params={"since": "yesterday"}, headers=world.h("citizen"))
    assert bad.status_code == 422
