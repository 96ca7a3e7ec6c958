"""Consent (授权同意) through its API and services, on both databases: a department asks, the
citizen grants, a fetch goes through under the signed artefact, the citizen revokes and the
next fetch is refused; expiry, frequency and fields beyond the consent; a relative with a proxy
inside and outside its scope; a clerk recording a paper consent; and every refusal as
problem+json with its event and nothing else changed."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cases.conftest import PNG_BYTES
from tests.exchange.conftest import WORLD, World, make_case
from tests.exchange.conftest import _build as build_world
from tests.support import identity_internals as identity
from tests.support.databases import Seed, hashing_once, seeded_with
from tongban.adapters.sms import load_gateway
from tongban.cases.models import Message
from tongban.consent import artefact, consents
from tongban.consent import service as consent
from tongban.consent.models import Consent, ConsentUse
from tongban.consent.schemas import ConsentIn
from tongban.events.models import Event
from tongban.exchange import fetch
from tongban.exchange import service as exchange
from tongban.exchange.models import DataFetch
from tongban.identity import service as identity_service
from tongban.ledger import service as ledger
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import Forbidden

PROBLEM = "application/problem+json"
AGREED = ["holder_name", "insurance_type", "insured_since", "paid_months"]
STRANGER_ID = identity.make_resident_id(region_code="511602", birth=date(1961, 2, 3), sequence=41)

PENSION_ITEM = "101110001000"

# Service-level tests run without the app: set the hook the shell sets at start.
consent.on_describe_resource(exchange.consent_terms)


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """A test using `world` runs over the exchange's world seed."""
    return {"world": WORLD}


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    """The exchange's world (demo accounts, resources, records, the pension agreement)."""
    recorded = seeded_with(db, WORLD)
    if recorded is not None:
        return World.reload(db, recorded)
    with hashing_once():
        return build_world(db, settings)


def _events(session: Session, action: str) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


def _fetches(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(DataFetch)) or 0)


def _require(db: Session, world: World) -> None:
    consent.set_requirement(
        db,
        actor=None,
        data=consent.RequirementIn(
            resource="RS-YLBX-001",
            consumer=world.departments["pension"].code,
            basis="测试：本人授权后方可共享",
        ),
    )


def _ask(client: TestClient, world: World, **overrides: Any) -> dict[str, Any]:
    body = {
        "resource": "RS-YLBX-001",
        "fields": AGREED,
        "purpose_code": "case-handling",
        "purpose_text": "核验参保缴费情况，办理养老保险关系转移",
        "valid_until": (utcnow() + timedelta(days=30)).isoformat(),
        "frequency_unit": "DAY",
        "frequency_value": 2,
        **overrides,
    }
    answer = client.post("/api/v1/consents", json=body, headers=world.h("official"))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _fetch(client: TestClient, world: World, number: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/cases/{number}/data-fetches",
        json={"resource": "RS-YLBX-001", "purpose": "核验参保缴费情况", **body},
        headers=world.h("official"),
    )


def _refused(
    client: TestClient, db: Session, world: World, number: str, refusal: str, **body: Any
) -> dict[str, Any]:
    before = _fetches(db)
    seen = len(_events(db, "exchange.fetch_refused"))
    answer = _fetch(client, world, number, **body)
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    refusals = _events(db, "exchange.fetch_refused")
    assert len(refusals) == seen + 1
    assert refusals[-1].data["refusal"] == refusal
    assert _fetches(db) == before
    return dict(answer.json())


def test_ask_grant_fetch_revoke_and_the_next_fetch_is_refused(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    _require(db, world)
    case = make_case(db, world)
    # Without any consent the fetch is refused, recorded, nothing fetched.
    problem = _refused(client, db, world, case.number, "no-consent")
    assert "consent" in problem["detail"]
    asked = _ask(client, world, case=case.number)
    assert asked["status"] == "requested"
    assert asked["subject_masked"].startswith("5116") and "*" in asked["subject_masked"]
    assert asked["field_labels"][:2] == ["姓名", "险种"]
    # The citizen was told: a message naming the request's page.
    citizen = world.accounts["citizen"].id
    texts = db.scalars(select(Message.text).where(Message.account_id == citizen)).all()
    assert any(f"/my/consents/{asked['id']}" in text for text in texts)
    # A pending request allows nothing yet.
    _refused(client, db, world, case.number, "no-consent", fields=AGREED)
    mine = client.get("/api/v1/my/consents", headers=world.h("citizen")).json()
    assert [c["id"] for c in mine if c["status"] == "requested"] == [asked["id"]]
    granted = client.post(f"/api/v1/consents/{asked['id']}/grant", headers=world.h("citizen"))
    assert granted.status_code == 200, granted.text
    artefact_doc = granted.json()
    assert artefact_doc["status"] == "granted"
    # The artefact is canonical JSON signed by the node's ledger key; its hash is in the event.
    vkey = client.get("/api/v1/ledger/key").json()["verifier_key"]
    assert artefact_doc["key_id"] == ledger.public_key(settings) == vkey
    assert artefact.verify(artefact_doc["artefact"], artefact_doc["signature"], vkey=vkey)
    tampered = json.loads(artefact_doc["artefact"])
    tampered["fields"].append("account_balance")
    assert not artefact.verify(json.dumps(tampered), artefact_doc["signature"], vkey=vkey)
    document = json.loads(artefact_doc["artefact"])
    assert document["consentId"] == asked["id"]
    assert document["purpose"]["code"] == "case-handling"
    assert document["serves"] == {"case": case.number, "item": PENSION_ITEM}
    assert document["frequency"] == {"unit": "DAY", "value": 2}
    grant_event = _events(db, "consent.granted")[-1]
    assert grant_event.data["artefact_sha256"] == artefact_doc["artefact_sha256"]
    assert "王建国" not in json.dumps(grant_event.data, ensure_ascii=False)
    # Now the fetch goes through, and the use is counted and recorded.
    fetched = _fetch(client, world, case.number, fields=AGREED)
    assert fetched.status_code == 201, fetched.text
    used = _events(db, "consent.used")
    assert used[-1].data["consent"] == asked["id"]
    assert used[-1].data["used_fields"] == AGREED
    # Revoked: the next fetch is refused at once.
    revoked = client.post(f"/api/v1/consents/{asked['id']}/revoke", headers=world.h("citizen"))
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    _refused(client, db, world, case.number, "consent-revoked", fields=AGREED)
    again = client.post(f"/api/v1/consents/{asked['id']}/revoke", headers=world.h("citizen"))
    assert again.status_code == 409


def test_expiry_frequency_and_fields_beyond_the_consent(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    _require(db, world)
    case = make_case(db, world)
    asked = _ask(client, world, case=case.number, fields=["holder_name", "paid_months"])
    client.post(f"/api/v1/consents/{asked['id']}/grant", headers=world.h("citizen"))
    # More fields than consented: refused, naming them.
    problem = _refused(client, db, world, case.number, "consent-fields", fields=AGREED)
    assert "insurance_type" in problem["detail"]
    # Within: twice a day, then the frequency stops the third.
    for _ in range(2):
        ok = _fetch(client, world, case.number, fields=["holder_name"])
        assert ok.status_code == 201, ok.text
    _refused(client, db, world, case.number, "consent-frequency", fields=["holder_name"])
    row = db.scalar(select(Consent).where(Consent.uid == asked["id"]))
    assert row is not None
    uses = db.scalar(
        select(func.count()).select_from(ConsentUse).where(ConsentUse.consent_id == row.id)
    )
    assert uses == 2
    # Another case of the same person: this consent serves only its own case.
    other = make_case(db, world)
    _refused(client, db, world, other.number, "consent-not-for-case", fields=["holder_name"])
    # Past its validity (the agreement still runs): expired.
    with pytest.raises(Forbidden, match="expired"):
        fetch.fetch_for_case(
            db,
            actor=world.actor("official"),
            case_number=case.number,
            resource_code="RS-YLBX-001",
            fields=["holder_name"],
            purpose="核验",
            settings=settings,
            now=utcnow() + timedelta(days=40),
        )
    assert _events(db, "exchange.fetch_refused")[-1].data["refusal"] == "consent-expired"
    listed = client.get("/api/v1/my/consents", headers=world.h("citizen")).json()
    assert {c["id"]: c["uses"] for c in listed}[asked["id"]] == 2


def test_no_requirement_no_check(client: TestClient, db: Session, world: World) -> None:
    # The demo pension fetch needs no consent: the law allows it for this item.
    case = make_case(db, world)
    assert _fetch(client, world, case.number).status_code == 201
    assert _events(db, "consent.used") == []
    # An item exempted by the requirement needs none either; another item does.
    consent.set_requirement(
        db,
        actor=None,
        data=consent.RequirementIn(
            resource="RS-YLBX-001", exempt_items=[PENSION_ITEM], basis="法定事项免授权"
        ),
    )
    assert _fetch(client, world, case.number).status_code == 201
    assert consent.needs_consent(
        db, resource_code="RS-YLBX-001", consumer_code="X", item="101110002000"
    )


def test_a_relative_within_scope_may_answer_outside_not(
    client: TestClient, db: Session, world: World
) -> None:
    _require(db, world)
    case = make_case(db, world)
    first = _ask(client, world, case=case.number)
    # The daughter holds a proxy for all items: she grants for her father.
    granted = client.post(f"/api/v1/consents/{first['id']}/grant", headers=world.h("relative"))
    assert granted.status_code == 200, granted.text
    assert granted.json()["decided_via"] == "proxy"
    event = _events(db, "consent.granted")[-1]
    assert event.on_behalf_of_id == world.accounts["citizen"].id
    assert event.channel == "proxy"
    # Narrow her proxy to another item: the next request is outside her scope.
    proxy = db.scalar(
        select(identity.ProxyAuthorisation).where(
            identity.ProxyAuthorisation.agent_id == world.accounts["relative"].id
        )
    )
    assert proxy is not None
    proxy.all_items = False
    proxy.item_codes = ["101110002000"]
    db.flush()
    second = _ask(client, world, case=case.number)
    seen = len(_events(db, "consent.decision_refused"))
    refused = client.post(f"/api/v1/consents/{second['id']}/grant", headers=world.h("relative"))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert "agent within scope" in refused.json()["detail"]
    assert len(_events(db, "consent.decision_refused")) == seen + 1
    assert _events(db, "consent.decision_refused")[-1].data["attempt"] == "grant"
    row = db.scalar(select(Consent).where(Consent.uid == second["id"]))
    assert row is not None and row.status == "requested" and row.artefact is None
    # Someone with no proxy at all (an official, a steward) may not answer either.
    for who in ("official", "steward"):
        answer = client.post(f"/api/v1/consents/{second['id']}/refuse", headers=world.h(who))
        assert answer.status_code == 403
    # The citizen himself refuses; answered requests cannot be answered again.
    done = client.post(f"/api/v1/consents/{second['id']}/refuse", headers=world.h("citizen"))
    assert done.status_code == 200 and done.json()["status"] == "refused"
    assert (
        client.post(
            f"/api/v1/consents/{second['id']}/grant", headers=world.h("citizen")
        ).status_code
        == 409
    )


def test_a_clerk_records_a_paper_consent(db: Session, world: World, settings: Settings) -> None:
    department = identity_service.get_department_by_code(db, code=world.departments["pension"].code)
    asked = consents.open_request(
        db,
        actor=world.actor("official"),
        department=department,
        data=ConsentIn(
            resource="MZ-HYDJ-001",
            fields=["holder_name", "marital_status"],
            purpose_code="benefit-eligibility",
            purpose_text="核实婚姻状况，办理遗属待遇",
            item=PENSION_ITEM,
            subject_resident_id=STRANGER_ID,
            valid_until=utcnow() + timedelta(days=90),
        ),
        settings=settings,
    )
    # Nobody has an account for this person: only a clerk can record their consent.
    assert asked.subject_account_id is None
    clerk = identity.find_account_by_username(db, username="clerk")
    assert clerk is not None
    actor = identity.actor_for(clerk)
    assert consents.pending_for_subject(db, resident_id=STRANGER_ID, settings=settings) == [
        asked.id
    ]
    # The wrong person's ID card: refused, recorded, nothing changed.
    with pytest.raises(consents.RefusedGrant):
        consents.record_at_counter(
            db,
            actor=actor,
            uid=asked.id,
            resident_id=identity.DEMO_CITIZEN_ID,
            paper=PNG_BYTES,
            settings=settings,
        )
    assert _events(db, "consent.decision_refused")[-1].data["attempt"] == "record"
    # Not an image or PDF: refused by the upload checks.
    with pytest.raises(Exception, match=r"not|PDF"):
        consents.record_at_counter(
            db,
            actor=actor,
            uid=asked.id,
            resident_id=STRANGER_ID,
            paper=b"just some text, not a scan",
            settings=settings,
        )
    recorded = consents.record_at_counter(
        db, actor=actor, uid=asked.id, resident_id=STRANGER_ID, paper=PNG_BYTES, settings=settings
    )
    assert recorded.status == "granted" and recorded.decided_via == "counter"
    row = db.scalar(select(Consent).where(Consent.uid == asked.id))
    assert row is not None and row.paper_sha256 is not None
    assert (settings.data_dir / "blobs").exists()
    document = json.loads(recorded.artefact or "{}")
    assert document["grantedVia"] == "counter" and document["paperSha256"] == row.paper_sha256
    event = _events(db, "consent.granted")[-1]
    assert event.channel == "assisted" and event.actor_role == "clerk"


def test_bad_requests_are_problems(client: TestClient, db: Session, world: World) -> None:
    case = make_case(db, world)
    base = {
        "resource": "RS-YLBX-001",
        "fields": ["holder_name"],
        "purpose_code": "case-handling",
        "purpose_text": "核验参保缴费情况",
        "case": case.number,
        "valid_until": (utcnow() + timedelta(days=30)).isoformat(),
    }
    cases = [
        ({"fields": ["no_such_field"]}, 422),
        ({"resource": "NO-SUCH"}, 422),
        ({"purpose_code": "marketing"}, 422),
        ({"valid_until": (utcnow() + timedelta(days=800)).isoformat()}, 422),
        ({"valid_until": (utcnow() - timedelta(days=1)).isoformat()}, 422),
        ({"case": None}, 422),  # neither a case nor an item and a person
        ({"case": "511602-20261102-NOSUCHCASE00"}, 404),
        ({"frequency_value": 0}, 422),
    ]
    for change, status in cases:
        answer = client.post(
            "/api/v1/consents", json={**base, **change}, headers=world.h("official")
        )
        assert answer.status_code == status, (change, answer.text)
        assert answer.headers["content-type"].startswith(PROBLEM)
    # Another department's case is as if it did not exist.
    other = make_case(db, world, department="other")
    answer = client.post(
        "/api/v1/consents", json={**base, "case": other.number}, headers=world.h("official")
    )
    assert answer.status_code == 404
    # A citizen may not ask; nobody else reads a citizen's consent.
    assert client.post("/api/v1/consents", json=base, headers=world.h("citizen")).status_code == 403
    asked = _ask(client, world, case=case.number)
    assert (
        client.get(
            f"/api/v1/consents/{asked['id']}", headers=world.h("x-other-official")
        ).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/consents/{asked['id']}", headers=world.h("official")).status_code
        == 200
    )
    listed = client.get("/api/v1/consents", headers=world.h("official")).json()
    assert asked["id"] in [c["id"] for c in listed]
    assert client.get("/api/v1/consents/not-an-id", headers=world.h("citizen")).status_code == 422
    assert _events(db, "consent.requested")[-1].data["consent"] == asked["id"]


class RecordingGateway:
    """An SMS gateway that keeps what it was asked to send."""

    sent: ClassVar[list[tuple[str, str]]] = []

    def send(self, phone: str, text: str) -> None:
        """Keep the message."""
        self.sent.append((phone, text))


def test_the_citizen_is_told_by_sms_with_a_link(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    settings.sms_gateway = f"{__name__}:RecordingGateway"
    load_gateway.cache_clear()
    RecordingGateway.sent.clear()
    case = make_case(db, world)
    asked = _ask(client, world, case=case.number)
    ((phone, text),) = RecordingGateway.sent
    assert phone == world.accounts["citizen"].phone
    assert f"{settings.public_base_url.rstrip('/')}/my/consents/{asked['id']}" in text
    assert "养老保险参保缴费记录" in text
    load_gateway.cache_clear()
