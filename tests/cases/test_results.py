"""Results (办理结果, issue #13 item 5): the decision document the deciding official attaches
(PDF or OFD, checked by content), who may open it and the record of each opening, and the
receipt that says 接件回执 before acceptance and 受理回执 after."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.conftest import PNG_BYTES, World, page_login, pdf_bytes, pension_request
from tongban.cases.models import Case
from tongban.cases.receipts import receipt_title
from tongban.events.models import Event

HTML = {"Accept": "text/html"}


def _file(client: TestClient, world: World) -> tuple[str, int]:
    sha = client.post(
        "/api/v1/uploads", headers=world.h("clerk"), files={"file": ("id.png", PNG_BYTES)}
    ).json()["sha256"]
    body = pension_request(
        materials=[{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}]
    )
    r = client.post("/api/v1/cases", headers=world.h("clerk"), json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["number"]), int(r.json()["version"])


def _act(client: TestClient, world: World, number: str, action: str, **body: object) -> dict:
    version = client.get(f"/api/v1/cases/{number}", headers=world.h("official")).json()["version"]
    r = client.post(
        f"/api/v1/cases/{number}/actions/{action}",
        headers=world.h("official"),
        json={"version": version, **body},
    )
    return {"status": r.status_code, **r.json()}


def _upload_result(
    client: TestClient, world: World, number: str, data: bytes, who: str = "official"
):
    return client.post(
        f"/api/v1/cases/{number}/result-document",
        headers=world.h(who),
        files={"file": ("decision.pdf", data)},
    )


def _views(db: Session, number: str) -> list[Event]:
    return list(
        db.scalars(
            select(Event)
            .where(Event.resource_id == number, Event.action == "case.result_viewed")
            .order_by(Event.id)
        )
    )


def test_the_official_attaches_a_pdf_and_its_readers_open_it(
    client: TestClient, db: Session, world: World
) -> None:
    number, _ = _file(client, world)
    document = pdf_bytes(2)
    # Only the deciding department's officials upload it; only PDF or OFD, by content.
    for who in ("migrant", "clerk", "steward"):
        assert _upload_result(client, world, number, document, who).status_code in (403, 404)
    assert _upload_result(client, world, number, document, "other_dept").status_code in (403, 404)
    r = _upload_result(client, world, number, PNG_BYTES)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    r = _upload_result(client, world, number, b"%PDF-1.7 not really")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    r = _upload_result(client, world, number, document)
    assert r.status_code == 201, r.text
    sha = r.json()["sha256"]
    assert r.json()["media_type"] == "application/pdf" and r.json()["pages"] == 2

    # A document goes with a decision only, and only the uploader's own file.
    p = _act(client, world, number, "accept", result_document=sha)
    assert p["status"] == 422 and p["errors"][0]["field"] == "result_document"
    assert _act(client, world, number, "accept")["status"] == 200
    clerk_png = client.post(
        "/api/v1/uploads", headers=world.h("clerk"), files={"file": ("x.png", PNG_BYTES)}
    ).json()["sha256"]
    p = _act(client, world, number, "approve", decision_text="准予", result_document=clerk_png)
    assert p["status"] == 422 and p["errors"][0]["field"] == "result_document"
    assert db.scalar(select(Case.state).where(Case.number == number)) == "accepted"
    p = _act(client, world, number, "approve", decision_text="准予转移", result_document=sha)
    assert p["status"] == 200 and p["result_document"] == sha
    event = db.scalar(
        select(Event).where(Event.resource_id == number, Event.action == "case.approve")
    )
    assert event is not None and sha not in str(event.data)
    assert event.private is not None and event.private["result_document"] == sha

    url = f"/api/v1/cases/{number}/result-document"
    r = client.get(url, headers=world.h("migrant"))
    assert r.status_code == 200 and r.content == document
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "private, no-store"
    assert _views(db, number) == []  # the applicant's own opening is not a data access
    assert client.get(url, headers=world.h("relative")).status_code == 200  # the agent
    assert client.get(url, headers=world.h("official")).status_code == 200
    views = _views(db, number)
    assert [v.actor_role for v in views] == ["citizen", "official"]
    assert all(sha not in str(v.data) and v.private == {"sha256": sha} for v in views)
    assert client.get(url, headers=world.h("clerk")).status_code == 403
    for who in ("stranger", "other_dept", "admin"):
        assert client.get(url, headers=world.h(who)).status_code in (403, 404), who
    assert client.get(url).status_code == 401
    assert len(_views(db, number)) == 2
    timeline = client.get(f"/api/v1/cases/{number}", headers=world.h("migrant")).json()["timeline"]
    assert [e["actor_role"] for e in timeline if e["action"] == "case.result_viewed"] == [
        "citizen",
        "official",
    ]

    # Completing with another document keeps the later one; without one keeps the earlier.
    later = _upload_result(client, world, number, pdf_bytes(3)).json()["sha256"]
    assert _act(client, world, number, "complete", result_document=later)["status"] == 200
    assert db.scalar(select(Case.result_document).where(Case.number == number)) == later


def test_a_case_without_a_document_has_none_to_open(client: TestClient, world: World) -> None:
    number, _ = _file(client, world)
    r = client.get(f"/api/v1/cases/{number}/result-document", headers=world.h("migrant"))
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    # A refusal may carry its notice (不予受理通知书).
    sha = _upload_result(client, world, number, pdf_bytes(1)).json()["sha256"]
    p = _act(client, world, number, "refuse", reason="不属于本机关职权", result_document=sha)
    assert p["status"] == 200 and p["result_document"] == sha


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_workbench_attaches_the_document_and_the_case_page_offers_it(
    app: FastAPI, client: TestClient, db: Session, world: World
) -> None:
    number, _ = _file(client, world)
    receipt = page_login(app, "t-clerk").get(f"/cases/{number}/receipt", headers=HTML).text
    assert "接件回执" in receipt and "受理回执" not in receipt
    assert _act(client, world, number, "accept")["status"] == 200
    receipt = page_login(app, "t-clerk").get(f"/cases/{number}/receipt", headers=HTML).text
    assert "受理回执" in receipt and "接件回执" not in receipt

    official = page_login(app, "t-official")
    form = official.get(f"/cases/{number}/act/approve", headers=HTML).text
    assert 'enctype="multipart/form-data"' in form and 'name="result_file"' in form
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version
    fields = {"csrf_token": _token(form), "version": version.group(1), "decision_text": "准予"}
    r = official.post(
        f"/cases/{number}/act/approve",
        data=fields,
        files={"result_file": ("photo.png", PNG_BYTES, "image/png")},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 422 and "请上传 PDF 或 OFD 格式的决定文书" in r.text
    assert 'href="#f-result_file"' in r.text
    assert db.scalar(select(Case.state).where(Case.number == number)) == "accepted"
    document = pdf_bytes(1)
    r = official.post(
        f"/cases/{number}/act/approve",
        data=fields,
        files={"result_file": ("decision.pdf", document, "application/pdf")},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    link = f'href="/api/v1/cases/{number}/result-document"'
    applicant = page_login(app, "t-migrant")
    assert link in applicant.get(f"/cases/{number}", headers=HTML).text
    assert applicant.get(f"/api/v1/cases/{number}/result-document").content == document
    assert link not in page_login(app, "t-clerk").get(f"/cases/{number}", headers=HTML).text
    # The official's opening is on the applicant's timeline, in words.
    official.get(f"/api/v1/cases/{number}/result-document")
    assert "决定文书被查看" in applicant.get(f"/cases/{number}", headers=HTML).text


def test_the_receipt_title_follows_acceptance() -> None:
    assert receipt_title({"accepted": False}) == "接件回执"
    assert receipt_title({"accepted": True}) == "受理回执"
