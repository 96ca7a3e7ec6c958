"""Public ledger leaves carry no personal data and no text written by people (issue #12).

Each scenario takes a step that carries such text or data, integrates the ledger, and checks
the public leaf (what `GET /api/v1/ledger/entries/N` and receipts show anyone) against the
rules of tests/support/leaf_scan.py; then that the text is still proven: the event's
disclosure (salt and committed part, for whoever may see it) opens the leaf's commitment, and
a changed text does not. The session-wide scan (tests/conftest.py) checks every other leaf.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.conftest import MIGRANT_ID, PNG_BYTES, pension_request
from tests.cases.conftest import WORLD as CASES_WORLD
from tests.cases.conftest import World as CasesWorld
from tests.cases.conftest import build_world as build_cases_world
from tests.reviews.conftest import ONLINE_BAD, make_case
from tests.reviews.conftest import WORLD as REVIEWS_WORLD
from tests.reviews.conftest import World as ReviewsWorld
from tests.reviews.conftest import build_world as build_reviews_world
from tests.support import identity_internals as identity
from tests.support.databases import Seed
from tests.support.leaf_scan import check_leaf
from tongban.events import service as events
from tongban.events.models import Event
from tongban.ledger import merkle, notes
from tongban.ledger import service as ledger
from tongban.ledger.models import LedgerLeaf
from tongban.platform.config import Settings


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """The cases tests' world or the reviews tests' world, each over its seed."""
    return {"cases_world": CASES_WORLD, "reviews_world": REVIEWS_WORLD}


@pytest.fixture
def cases_world(db: Session, settings: Settings) -> CasesWorld:
    """Regions, departments, accounts with tokens, proxies and the fixture catalog."""
    return build_cases_world(db, settings)


@pytest.fixture
def reviews_world(db: Session, settings: Settings) -> ReviewsWorld:
    """Regions, two departments and one account per part."""
    return build_reviews_world(db, settings)


# --- helpers ---------------------------------------------------------------------------------


def _event(db: Session, action: str, resource_id: str | None = None) -> Event:
    stmt = select(Event).where(Event.action == action)
    if resource_id is not None:
        stmt = stmt.where(Event.resource_id == resource_id)
    found = db.scalars(stmt.order_by(Event.id.desc())).first()
    assert found is not None, action
    return found


def _public_leaf(db: Session, settings: Settings, event: Event, *secrets: str) -> dict[str, Any]:
    """The event's leaf as the public gets it (a verified receipt), checked against the
    rules; none of `secrets` appears in its bytes."""
    ledger.integrate_pending(db, settings=settings, full_scan=True)
    receipt = ledger.receipt_for_event(db, event_uid=event.uid)
    key = notes.Verifier.parse(ledger.public_key(settings))
    verified = ledger.verify_receipt(receipt["proof"], key)
    entry = verified.entry
    assert entry == receipt["entry"] and not receipt["withheld"]
    assert entry["v"] == 2 and entry["uid"] == event.uid
    assert check_leaf(entry) == [], check_leaf(entry)
    text = json.dumps(entry, ensure_ascii=False)
    for secret in secrets:
        assert secret not in text, secret
    # Neither who acted nor on whose behalf: those are committed to.
    assert "actor_id" not in entry and "on_behalf_of_id" not in entry and "reason" not in entry
    return entry


def _proves(db: Session, event: Event, entry: dict[str, Any], path: list[str], text: Any) -> None:
    """The event's disclosure opens the leaf's commitment and holds `text` at `path`; the
    same disclosure with that text changed does not open it."""
    opened = events.disclosure(db, event_uid=event.uid)
    assert opened is not None and opened.format == 2
    ledger.verify_disclosure(entry, salt=opened.salt, committed=opened.committed)
    node: Any = opened.committed
    for step in path[:-1]:
        node = node[step]
    assert node[path[-1]] == text
    forged = json.loads(json.dumps(opened.committed))
    target = forged
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = "x" if text != "x" else "y"
    with pytest.raises(ledger.ReceiptError):
        ledger.verify_disclosure(entry, salt=opened.salt, committed=forged)
    with pytest.raises(ledger.ReceiptError):  # the right text under another salt
        ledger.verify_disclosure(entry, salt="00" * 16, committed=opened.committed)


def _file(client: TestClient, world: CasesWorld, who: str = "clerk") -> str:
    sha = client.post(
        "/api/v1/uploads", headers=world.h(who), files={"file": ("id.png", PNG_BYTES)}
    ).json()["sha256"]
    body = pension_request(
        materials=[{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}]
    )
    r = client.post("/api/v1/cases", headers=world.h(who), json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["number"])


def _act(
    client: TestClient, world: CasesWorld, who: str, number: str, action: str, **body: Any
) -> None:
    version = client.get(f"/api/v1/cases/{number}", headers=world.h(who)).json()["version"]
    r = client.post(
        f"/api/v1/cases/{number}/actions/{action}",
        headers=world.h(who),
        json={"version": version, **body},
    )
    assert r.status_code == 200, r.text


# --- cases -----------------------------------------------------------------------------------


def test_a_counter_submission_shows_no_applicant_and_no_material(
    client: TestClient, db: Session, settings: Settings, cases_world: CasesWorld
) -> None:
    number = _file(client, cases_world)
    submitted = _event(db, "case.submitted", number)
    entry = _public_leaf(db, settings, submitted, "李建国", MIGRANT_ID, "居民身份证")
    assert entry["resource_id"] == number and entry["actor_role"] == "clerk"
    assert entry["data"]["material_count"] == 2 and "materials" not in entry["data"]
    # The clerk filed for the migrant: both stay in the committed part.
    _proves(db, submitted, entry, ["on_behalf_of_id"], cases_world.accounts["migrant"].id)
    _proves(db, submitted, entry, ["personal", "name"], "李建国")
    _proves(db, submitted, entry, ["private", "materials", 0, 0], "居民身份证")


def test_refusal_and_withdrawal_reasons_are_committed_to_not_shown(
    client: TestClient, db: Session, settings: Settings, cases_world: CasesWorld
) -> None:
    refused = _file(client, cases_world)
    _act(
        client,
        cases_world,
        "official",
        refused,
        "refuse",
        reason="不属于本机关职权范围，请向户籍地申请",
    )
    event = _event(db, "case.refuse", refused)
    entry = _public_leaf(db, settings, event, "不属于本机关职权范围")
    assert entry["data"]["to"] == "not_accepted" and entry["actor_role"] == "official"
    _proves(db, event, entry, ["reason"], "不属于本机关职权范围，请向户籍地申请")
    # The applicant sees the reason on the case's timeline as before.
    timeline = client.get(f"/api/v1/cases/{refused}", headers=cases_world.h("migrant")).json()
    assert timeline["timeline"][-1]["reason"] == "不属于本机关职权范围，请向户籍地申请"

    withdrawn = _file(client, cases_world)
    _act(client, cases_world, "migrant", withdrawn, "withdraw", reason="家里有事，不再需要转移")
    event = _event(db, "case.withdraw", withdrawn)
    entry = _public_leaf(db, settings, event, "不再需要")
    _proves(db, event, entry, ["reason"], "家里有事，不再需要转移")
    _proves(db, event, entry, ["actor_id"], cases_world.accounts["migrant"].id)


def test_a_supplement_request_shows_counts_not_the_list(
    client: TestClient, db: Session, settings: Settings, cases_world: CasesWorld
) -> None:
    number = _file(client, cases_world)
    _act(client, cases_world, "official", number, "accept")
    _act(
        client,
        cases_world,
        "official",
        number,
        "request-supplement",
        reason="缺少原单位出具的证明",
        missing=["其他证明材料", "李建国的离职证明"],
    )
    event = _event(db, "case.request-supplement", number)
    entry = _public_leaf(db, settings, event, "离职证明", "李建国", "缺少原单位")
    assert entry["data"]["missing_count"] == 2
    _proves(db, event, entry, ["private", "missing", 1], "李建国的离职证明")
    _proves(db, event, entry, ["reason"], "缺少原单位出具的证明")


def test_the_purpose_of_reading_a_full_resident_id_is_committed_to(
    client: TestClient, db: Session, settings: Settings, cases_world: CasesWorld
) -> None:
    number = _file(client, cases_world)
    url = f"/api/v1/cases/{number}/applicant-id"
    r = client.post(url, headers=cases_world.h("official"), json={"purpose": "核对社保缴费记录"})
    assert r.status_code == 200, r.text
    event = _event(db, "case.applicant_id_viewed", number)
    entry = _public_leaf(db, settings, event, "核对社保缴费记录", MIGRANT_ID, MIGRANT_ID[-4:])
    # The public sees that an official of which department looked, not who or why.
    assert entry["data"] == {"department": cases_world.departments["pension"].code}
    _proves(db, event, entry, ["reason"], "核对社保缴费记录")
    _proves(db, event, entry, ["actor_id"], cases_world.accounts["official"].id)


# --- identity --------------------------------------------------------------------------------


def test_who_is_whose_proxy_is_committed_to(
    db: Session, settings: Settings, cases_world: CasesWorld
) -> None:
    principal = cases_world.accounts["migrant"]
    agent = cases_world.accounts["stranger"]
    row = identity.grant_proxy(db, principal_id=principal.id, agent_id=agent.id, relation="spouse")
    db.flush()
    granted = _event(db, "proxy.granted", str(row.id))
    entry = _public_leaf(db, settings, granted)
    assert entry["data"]["relation"] == "spouse" and entry["resource_type"] == "proxy"
    _proves(db, granted, entry, ["private", "principal_id"], principal.id)
    _proves(db, granted, entry, ["private", "agent_id"], agent.id)
    identity.revoke_proxy(db, proxy_id=row.id, principal_id=principal.id)
    db.flush()
    revoked = _event(db, "proxy.revoked", str(row.id))
    entry = _public_leaf(db, settings, revoked)
    _proves(db, revoked, entry, ["private", "agent_id"], agent.id)


def test_an_account_is_not_named_nor_numbered_in_public(
    db: Session, settings: Settings, cases_world: CasesWorld
) -> None:
    account = identity.create_account(
        db,
        username="13912345678",
        password="correct horse battery",
        role="citizen",
        display_name="张三丰",
        phone="13912345678",
        settings=settings,
    )
    db.flush()
    created = _event(db, "account.created", str(account.id))
    entry = _public_leaf(db, settings, created, "13912345678", "张三丰")
    assert entry["resource_type"] == "account" and entry["resource_id"] is None
    _proves(db, created, entry, ["resource_id"], str(account.id))
    _proves(db, created, entry, ["personal", "display_name"], "张三丰")


# --- reviews ---------------------------------------------------------------------------------


def test_review_comments_and_rectification_texts_are_committed_to(
    client: TestClient, db: Session, settings: Settings, reviews_world: ReviewsWorld
) -> None:
    case = make_case(db, reviews_world)
    r = client.post(
        "/api/v1/reviews",
        json={"case_number": case.number, "channel": "online", **ONLINE_BAD},
        headers=reviews_world.h("migrant"),
    )
    assert r.status_code == 201, r.text
    review_id, task_id = r.json()["id"], r.json()["rectification_id"]
    created = _event(db, "review.created", str(review_id))
    entry = _public_leaf(db, settings, created, ONLINE_BAD["comment"])
    assert entry["data"]["overall"] == 2 and entry["data"]["bad"] is True
    _proves(db, created, entry, ["private", "comment"], ONLINE_BAD["comment"])

    steps = [
        ("follow-up", {"note": "电话回访王女士，反映材料清单不一致"}, "followed_up", "note"),
        (
            "appeal",
            {"ground": "mistaken", "reason": "评价对象错误，应为社保窗口"},
            "appealed",
            "reason",
        ),
    ]
    for path, body, action, key in steps:
        r = client.post(
            f"/api/v1/rectifications/{task_id}/{path}",
            json=body,
            headers=reviews_world.h("official"),
        )
        assert r.status_code == 200, r.text
        event = _event(db, f"rectification.{action}", str(task_id))
        entry = _public_leaf(db, settings, event, body[key])
        _proves(db, event, entry, ["private", key], body[key])


# --- leaves written before: served as hashes only ---------------------------------------------


def test_a_format_1_leaf_is_withheld_and_the_log_still_verifies(
    client: TestClient, db: Session, settings: Settings
) -> None:
    # What a node that ran an older version wrote: the reason and the actor in the event,
    # which its leaf showed in full (format 1: `format` is NULL).
    old = Event(
        uid="legacy-0001",
        occurred_at=datetime(2026, 1, 5, 2, tzinfo=UTC),
        actor_id=42,
        actor_role="official",
        on_behalf_of_id=None,
        action="case.refuse",
        resource_type="case",
        resource_id="440300-20260105-AAAAAAAAAAAA",
        channel="online",
        reason="申请人李四的材料不全",
        data={"from": "submitted", "to": "refused"},
        personal={"name": "李四"},
        personal_salt="ab" * 16,
        personal_commitment=events.commitment({"name": "李四"}, "ab" * 16),
    )
    db.add(old)
    db.flush()
    new = events.record(
        db, action="case.accept", resource_type="case", resource_id="440300-1", channel="online"
    )
    ledger.integrate_pending(db, settings=settings, full_scan=True)
    leaf = db.scalars(select(LedgerLeaf).where(LedgerLeaf.event_id == old.id)).one()
    stored = bytes(leaf.data)
    assert "李四".encode() in stored  # the old leaf holds it, and it cannot change

    r = client.get(f"/api/v1/ledger/entries/{leaf.idx}")
    assert r.status_code == 200
    body = r.json()
    assert body["withheld"] is True and body["format"] == 1
    assert body["data"] is None and body["entry"] is None and "李四" not in r.text
    assert base64.b64decode(body["leaf_hash"]) == merkle.leaf_hash(stored)
    # The tree still verifies: the withheld leaf's hash is in the signed tree.
    key = notes.Verifier.parse(client.get("/api/v1/ledger/key").json()["verifier_key"])
    cp = notes.open_checkpoint(client.get("/api/v1/ledger/checkpoint").text, key)
    proof = client.get(
        "/api/v1/ledger/proof/inclusion", params={"index": leaf.idx, "size": cp.size}
    ).json()
    merkle.verify_inclusion(
        merkle.leaf_hash(stored),
        int(leaf.idx),
        cp.size,
        [base64.b64decode(h) for h in proof["proof"]],
        cp.root,
    )
    # Its receipt proves the leaf to whoever holds its bytes, and shows nothing itself.
    r = client.get(f"/api/v1/ledger/receipts/{old.uid}")
    receipt = r.json()
    assert receipt["withheld"] is True and receipt["entry"] is None and "李四" not in r.text
    assert "\nextra " not in receipt["proof"]
    with pytest.raises(ledger.ReceiptError):
        ledger.verify_receipt(receipt["proof"], key)
    verified = ledger.verify_receipt(receipt["proof"], key, entry=stored)
    assert verified.entry["reason"] == "申请人李四的材料不全"
    with pytest.raises(ledger.ReceiptError):
        ledger.verify_receipt(receipt["proof"], key, entry=stored.replace(b"refuse", b"accept"))
    # A format-1 disclosure (the personal part alone) still opens that leaf's commitment.
    opened = events.disclosure(db, event_uid=old.uid)
    assert opened is not None and opened.format == 1
    ledger.verify_disclosure(verified.entry, salt=opened.salt, committed=opened.committed)

    # The leaves written since are served in full.
    fresh = client.get(f"/api/v1/ledger/receipts/{new.uid}").json()
    assert fresh["withheld"] is False and fresh["entry"]["v"] == 2
    assert ledger.verify_receipt(fresh["proof"], key).entry["uid"] == new.uid
