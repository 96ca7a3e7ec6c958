"""The migrant worker's story end to end through the API (DESIGN.md): a clerk in Shenzhen files
his pension transfer, the 广安区 authority in Sichuan decides it on working-day clocks."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.cases.conftest import MIGRANT_ID, PNG_BYTES, Clock, World, pdf_bytes


def upload(client: TestClient, world: World, who: str, data: bytes, name: str) -> str:
    """Upload one file and return its sha256."""
    r = client.post("/api/v1/uploads", headers=world.h(who), files={"file": (name, data)})
    assert r.status_code == 201, r.text
    return str(r.json()["sha256"])


def act(
    client: TestClient, world: World, who: str, number: str, action: str, **body: Any
) -> dict[str, Any]:
    """Read the case's version, then take the action; assert success."""
    version = client.get(f"/api/v1/cases/{number}", headers=world.h(who)).json()["version"]
    r = client.post(
        f"/api/v1/cases/{number}/actions/{action}",
        headers=world.h(who),
        json={"version": version, **body},
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def test_migrant_worker_pension_transfer(client: TestClient, world: World, clock: Clock) -> None:
    # Monday 2 March 2026, 10:00 in Shenzhen: the clerk at the Nanshan service point.
    clock.set(2026, 3, 2)
    id_card = upload(client, world, "clerk", PNG_BYTES, "id.png")
    form = upload(client, world, "clerk", pdf_bytes(2), "application.pdf")
    r = client.post(
        "/api/v1/cases",
        headers=world.h("clerk", **{"Idempotency-Key": "counter-7-0001"}),
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
    case = r.json()
    number = case["number"]
    assert number.startswith("440300-20260302-")
    assert case["state"] == "received"
    assert case["channel"] == "assisted" and case["service_point"] == "440305"
    assert case["authority_region"] == "511602"
    assert case["applicant_id_masked"] != MIGRANT_ID and case["applicant_id_masked"].endswith(
        MIGRANT_ID[-4:]
    )
    # 5 working days to decide acceptance.
    assert case["deadlines"]["acceptance"] == "2026-03-09"
    checklist = {line["name"]: line for line in case["checklist"]}
    assert checklist["居民身份证"]["present"] and checklist["转移申请表"]["present"]
    assert not checklist["参保缴费凭证"]["present"]  # obtained by sharing (source: government)
    assert checklist["参保缴费凭证"]["source"] == "government"

    # The citizen sees it in his cases (the clerk linked it to his account by resident ID).
    mine = client.get("/api/v1/my/cases", headers=world.h("migrant")).json()["items"]
    assert [c["number"] for c in mine] == [number]

    # Routed to the Sichuan authority's queue (收受分离), not to anyone in Shenzhen.
    queue = client.get("/api/v1/queue", headers=world.h("official")).json()["items"]
    assert [c["number"] for c in queue] == [number]
    assert client.get("/api/v1/queue", headers=world.h("huji_official")).json()["items"] == []

    # Tuesday: accepted; promised 10 and statutory 15 working days from acceptance.
    clock.set(2026, 3, 3)
    case = act(client, world, "official", number, "accept")
    assert case["state"] == "accepted"
    assert case["deadlines"]["promised"] == "2026-03-17"
    assert case["deadlines"]["statutory"] == "2026-03-24"
    assert case["due_date"] == "2026-03-17"

    # Thursday: 补正: the clock stops.
    clock.set(2026, 3, 5)
    case = act(
        client,
        world,
        "official",
        number,
        "request-supplement",
        missing=["其他证明材料"],
        reason="缺少原单位出具的证明",
    )
    assert case["state"] == "supplement_requested"
    assert case["deadlines"]["paused"] is True
    assert case["missing"] == ["其他证明材料"]

    # The next Tuesday the clerk supplies the material at the counter: 3 working days paused
    # (Fri 6, Mon 9, Tue 10), so every deadline moves by 3 working days.
    clock.set(2026, 3, 10)
    proof = upload(client, world, "clerk", pdf_bytes(1), "proof.pdf")
    version = client.get(f"/api/v1/cases/{number}", headers=world.h("clerk")).json()["version"]
    r = client.post(
        f"/api/v1/cases/{number}/materials",
        headers=world.h("clerk"),
        json={"version": version, "materials": [{"name": "其他证明材料", "sha256": proof}]},
    )
    assert r.status_code == 200, r.text
    case = r.json()
    assert case["state"] == "accepted"
    assert case["deadlines"]["paused"] is False
    assert case["deadlines"]["paused_working_days"] == 3
    assert case["deadlines"]["promised"] == "2026-03-20"
    assert case["deadlines"]["statutory"] == "2026-03-27"
    assert case["missing"] == []

    # Thursday 12 March: approved and completed.
    clock.set(2026, 3, 12)
    case = act(
        client, world, "official", number, "approve", decision_text="同意转移，已出具参保缴费凭证。"
    )
    assert case["state"] == "approved" and case["decision"] == "approved"
    case = act(client, world, "official", number, "complete")
    assert case["state"] == "completed"
    assert case["due_date"] is None

    # The timeline has every step, with who acted through which channel.
    steps = [(e["action"], e["actor_role"], e["channel"]) for e in case["timeline"]]
    assert steps == [
        ("case.submitted", "clerk", "assisted"),
        ("case.accept", "official", "api"),
        ("case.request-supplement", "official", "api"),
        ("case.supplement", "clerk", "assisted"),
        ("case.approve", "official", "api"),
        ("case.complete", "official", "api"),
    ]
    # He was told at every step (and so was the clerk who filed it).
    messages = client.get("/api/v1/my/messages", headers=world.h("migrant")).json()
    kinds = [m["kind"] for m in reversed(messages["items"])]
    assert kinds == [
        "submitted",
        "accepted",
        "supplement_requested",
        "supplemented",
        "approved",
        "completed",
    ]
    assert messages["unread"] == 6
    r = client.post("/api/v1/my/messages/read", headers=world.h("migrant"), json={})
    assert r.json() == {"marked": 6}
    assert client.get("/api/v1/my/messages", headers=world.h("migrant")).json()["unread"] == 0

    # And the receipt, as a PDF and a printable page with a QR code.
    pdf = client.get(f"/api/v1/cases/{number}/receipt.pdf", headers=world.h("migrant"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    page = client.get(f"/cases/{number}/receipt", headers=world.h("clerk"))
    assert page.status_code == 200 and "<svg" in page.text and number in page.text
