"""Issue → hold → selective presentation with key binding → verify → revoke → verify fails,
through the API, on both databases; the status list, the trust list and the issuer metadata."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from joserfc.jwk import OKPKey
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.credentials.conftest import PENSION_ITEM, World, make_case

from tongban.credentials import licences, sdjwt, statuslist
from tongban.credentials.models import Credential
from tongban.events.models import Event


def _complete(client: TestClient, world: World, number: str, version: int) -> None:
    answer = client.post(
        f"/api/v1/cases/{number}/actions/complete",
        json={"version": version},
        headers=world.h("official"),
    )
    assert answer.status_code == 200, answer.text


def _verify(client: TestClient, credential: str, **extra: str) -> dict[str, object]:
    answer = client.post("/api/v1/credentials/verify", json={"credential": credential, **extra})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_issue_hold_present_verify_revoke(client: TestClient, db: Session, world: World) -> None:
    case = make_case(db, world)
    _complete(client, world, case.number, case.version)
    # Issued to the applicant, as an event with codes only.
    issued = db.scalars(select(Event).where(Event.action == "credential.issued")).all()
    assert len(issued) == 1
    assert issued[0].data["type_code"] == "101001"
    assert "王建国" not in str(issued[0].data)

    held = client.get("/api/v1/my/credentials", headers=world.h("citizen")).json()
    assert [c["type"] for c in held] == ["社会保障卡"]
    card = held[0]
    assert card["status"] == "valid" and card["issuer"] == world.departments["demo"].name
    assert licences.licence_id_ok(card["licence_id"])
    parsed = sdjwt.parse(card["sd_jwt"])
    assert parsed.header["typ"] == "dc+sd-jwt" and parsed.header["alg"] == "Ed25519"
    assert parsed.payload["vct"] == "urn:cn:tongban:licence:social-security-card:1"
    # Personal claims travel only as disclosures, never in the signed payload's clear.
    assert "holder_name" not in parsed.payload and "王建国" not in str(parsed.payload)
    names = {name for name, _, _ in sdjwt.holder_view(card["sd_jwt"])}
    assert {"holder_name", "holder_code", "holder_code_type", "birth_date", "sex"} <= names
    # Nobody else sees it.
    assert client.get("/api/v1/my/credentials", headers=world.h("relative")).json() == []

    full = _verify(client, card["sd_jwt"])
    assert full["valid"] is True and full["status"] == "valid", full
    assert full["claims"]["holder_name"] == "王建国"

    # A selective presentation: only the birth date.
    only_birth = sdjwt.present(card["sd_jwt"], keep=["birth_date"])
    seen = _verify(client, only_birth)
    assert seen["valid"] is True and seen["disclosed"] == ["birth_date"]
    assert "holder_name" not in seen["claims"] and "holder_code" not in seen["claims"]

    # Revoked by the department, with a reason: verification fails and says so.
    row = db.scalar(select(Credential).where(Credential.licence_id == card["licence_id"]))
    assert row is not None
    answer = client.post(
        f"/api/v1/credentials/{row.id}/status",
        json={"action": "revoke", "reason": "持证人申请注销"},
        headers=world.h("official"),
    )
    assert answer.status_code == 200, answer.text
    after = _verify(client, only_birth)
    assert after["valid"] is False and after["code"] == "revoked" and after["status"] == "revoked"
    # Revocation is final.
    again = client.post(
        f"/api/v1/credentials/{row.id}/status",
        json={"action": "reinstate", "reason": "误操作"},
        headers=world.h("official"),
    )
    assert again.status_code == 409


def test_key_binding_with_ed25519(client: TestClient, db: Session, world: World) -> None:
    """A wallet's Ed25519 key in `cnf`; the KB-JWT is checked for nonce, audience, sd_hash."""
    from tongban.credentials import service as credentials
    from tongban.credentials.licences import for_item

    holder = OKPKey.generate_key("Ed25519")
    kind = for_item("109110004000")
    assert kind is not None
    made = credentials.issue(
        db,
        kind=kind,
        holder_id=world.accounts["citizen"].id,
        department_id=world.departments["demo"].id,
        form={"card_kind": "电子证"},
        settings=client.app.state.settings,  # type: ignore[attr-defined]
        holder_jwk=holder.as_dict(private=False),
    )
    token = db.get(Credential, made.id).sd_jwt  # type: ignore[union-attr]
    assert token is not None
    shown = sdjwt.present(
        token, keep=["age_over_60"], holder_key=holder, aud="https://bus.example", nonce="n-1"
    )
    ok = _verify(client, shown, nonce="n-1", aud="https://bus.example")
    assert ok["valid"] is True and ok["key_bound"] is True, ok
    assert ok["claims"]["age_over_60"] is True and ok["disclosed"] == ["age_over_60"]
    assert _verify(client, shown, nonce="n-2", aud="https://bus.example")["code"] == "kb_nonce"
    assert _verify(client, shown, nonce="n-1", aud="https://other.example")["code"] == "kb_aud"
    # The KB-JWT of one presentation does not cover another (sd_hash).
    body, kb = shown.rsplit("~", 1)
    wider = sdjwt.present(token, keep=["age_over_60", "holder_name"])
    assert _verify(client, wider + kb, nonce="n-1", aud="https://bus.example")["code"] == (
        "kb_sd_hash"
    )
    # A nonce asked for and no proof given.
    assert _verify(client, body + "~", nonce="n-1", aud="x")["code"] == "kb_missing"
    # Signed by another key than the one in cnf.
    thief = OKPKey.generate_key("Ed25519")
    stolen = sdjwt.present(token, keep=["age_over_60"], holder_key=thief, aud="a", nonce="n")
    assert _verify(client, stolen, nonce="n", aud="a")["code"] == "kb_signature"


def test_no_licence_for_other_items_or_refusals(
    client: TestClient, db: Session, world: World
) -> None:
    for case in (
        make_case(db, world, item_code=PENSION_ITEM),
        make_case(db, world, state="rejected", decision="rejected"),
    ):
        _complete(client, world, case.number, case.version)
    assert db.scalars(select(Credential)).all() == []


def test_status_list_token_and_trust(client: TestClient, db: Session, world: World) -> None:
    case = make_case(db, world)
    _complete(client, world, case.number, case.version)
    row = db.scalars(select(Credential)).one()
    client.post(
        f"/api/v1/credentials/{row.id}/status",
        json={"action": "suspend", "reason": "核查中"},
        headers=world.h("official"),
    )
    reference = sdjwt.parse(row.sd_jwt or "").payload["status"]["status_list"]
    path = reference["uri"].split("://", 1)[1].split("/", 1)[1]
    answer = client.get("/" + path)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/statuslist+jwt")
    metadata = client.get("/.well-known/jwt-vc-issuer").json()
    assert metadata["issuer"] and metadata["jwks"]["keys"][0]["kid"] == row.kid
    key = OKPKey.import_key(metadata["jwks"]["keys"][0])
    checked = statuslist.check_token(answer.text, key=key, uri=reference["uri"])
    assert checked.status(reference["idx"]) == "suspended"
    assert len(checked.array) == 131072 * 2 // 8
    # Reinstated: valid again.
    client.post(
        f"/api/v1/credentials/{row.id}/status",
        json={"action": "reinstate", "reason": "核查无误"},
        headers=world.h("official"),
    )
    assert _verify(client, row.sd_jwt or "")["valid"] is True
    # Citizens and other roles may not change a status.
    for who in ("citizen", "clerk", "steward"):
        denied = client.post(
            f"/api/v1/credentials/{row.id}/status",
            json={"action": "suspend", "reason": "试试"},
            headers=world.h(who),
        )
        assert denied.status_code in (403, 404), who
    changes = db.scalars(
        select(Event).where(Event.action.in_(["credential.suspended", "credential.reinstated"]))
    ).all()
    assert [e.data["to"] for e in changes] == ["suspended", "valid"]
    assert time.time() > 0
