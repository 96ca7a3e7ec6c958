"""Each step of a case links to its ledger receipt, which verifies offline with the CLI alone."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.cases.conftest import MIGRANT_ID, PNG_BYTES, Clock, World, pdf_bytes
from tests.cases.test_story import act, upload
from tongban.ledger import service as ledger
from tongban.platform.config import Settings
from tongban.shell.cli import app as cli


def _clerk_files_pension_transfer(client: TestClient, world: World) -> Response:
    id_card = upload(client, world, "clerk", PNG_BYTES, "id.png")
    form = upload(client, world, "clerk", pdf_bytes(1), "application.pdf")
    r = client.post(
        "/api/v1/cases",
        headers=world.h("clerk"),
        json={
            "implementation": "TEST-PENSION-511602",
            "form": {"transfer_reason": "跨省就业", "new_city": "深圳"},
            "materials": [
                {"name": "居民身份证", "sha256": id_card},
                {"name": "转移申请表", "sha256": form},
            ],
            "applicant": {"resident_id": MIGRANT_ID, "name": "李建国", "identity_confirmed": True},
        },
    )
    assert r.status_code == 201, r.text
    return r


def test_every_step_of_a_case_has_a_receipt_that_verifies_offline(
    client: TestClient, world: World, db: Session, settings: Settings, tmp_path: Path
) -> None:
    r = _clerk_files_pension_transfer(client, world)
    number = r.json()["number"]
    act(client, world, "official", number, "accept")

    # Not yet sequenced: the receipt says so instead of inventing one.
    timeline = client.get(f"/api/v1/cases/{number}", headers=world.h("official")).json()["timeline"]
    assert [step["action"] for step in timeline] == ["case.submitted", "case.accept"]
    assert client.get(timeline[0]["ledger_receipt"]).status_code == 409

    ledger.integrate_pending(db, settings=settings)
    key = ledger.public_key(settings)
    runner = CliRunner()
    for step in timeline:
        receipt = client.get(step["ledger_receipt"])
        assert receipt.status_code == 200, receipt.text
        path = tmp_path / f"{step['uid']}.tlog-proof"
        path.write_text(receipt.json()["proof"])
        result = runner.invoke(cli, ["ledger", "verify-receipt", str(path), "--key", key])
        assert result.exit_code == 0, result.output
        assert step["uid"] in result.output
        # The proof carries no personal data in clear: only the salted commitment.
        assert MIGRANT_ID not in path.read_text()
        assert "李建国" not in path.read_text()

    # The case page links to each step's receipt page for people (issue #14), which links
    # to the JSON for machines.
    login = client.get(f"/cases/{number}", headers=world.h("official", Accept="text/html"))
    assert login.status_code == 200
    for step in timeline:
        assert f'href="/ledger/receipts/{step["uid"]}"' in login.text
        page = client.get(f"/ledger/receipts/{step['uid']}")
        assert page.status_code == 200 and step["ledger_receipt"] in page.text


def test_deadlines_in_a_year_without_a_loaded_calendar_are_marked_provisional(
    client: TestClient, world: World, clock: Clock
) -> None:
    # Accepted in late December 2026: the statutory limit runs into 2027, whose holidays
    # (春节, 调休) the built-in calendar does not know yet.
    clock.set(2026, 12, 21)
    r = _clerk_files_pension_transfer(client, world)
    assert r.json()["deadlines"]["provisional"] is False
    accepted = act(client, world, "official", r.json()["number"], "accept")
    assert accepted["deadlines"]["statutory"] > "2027-01-01"
    assert accepted["deadlines"]["provisional"] is True


def test_opening_a_material_is_allowed_to_the_parties_and_recorded(
    client: TestClient, world: World
) -> None:
    r = _clerk_files_pension_transfer(client, world)
    number = r.json()["number"]
    lines = {line["name"]: line for line in r.json()["checklist"]}
    sha = lines["居民身份证"]["files"][0]
    url = f"/api/v1/cases/{number}/materials/{sha}"

    opened = client.get(url, headers=world.h("official"))
    assert opened.status_code == 200
    assert opened.headers["content-type"] == "image/png"
    assert opened.content == PNG_BYTES
    assert client.get(url, headers=world.h("migrant")).status_code == 200

    # Not a party, another department, or no such file: refused, and nothing recorded.
    for who in ("stranger", "other_dept", "far_clerk"):
        assert client.get(url, headers=world.h(who)).status_code in (403, 404), who
    assert client.get(url).status_code == 401
    missing = f"/api/v1/cases/{number}/materials/{'0' * 64}"
    assert client.get(missing, headers=world.h("official")).status_code == 404

    # The citizen sees who opened his papers, step by step, each in the ledger.
    timeline = client.get(f"/api/v1/cases/{number}", headers=world.h("migrant")).json()["timeline"]
    viewed = [step for step in timeline if step["action"] == "case.material_viewed"]
    assert [step["actor_role"] for step in viewed] == ["official", "citizen"]
    assert all(step["ledger_receipt"].endswith(step["uid"]) for step in viewed)
