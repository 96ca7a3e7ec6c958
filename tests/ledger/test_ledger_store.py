"""Integration into the database, proofs from storage, receipts and the HTTP API (both backends)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.events.models import Event
from tongban.ledger import integrator, merkle, notes, store
from tongban.ledger import service as ledger
from tongban.ledger.models import LedgerLeaf, LedgerNode
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, Invalid, NotFound


def _record(session: Session, n: int, *, personal: bool = False) -> list[Event]:
    return [
        events.record(
            session,
            action="case.submitted",
            resource_type="case",
            resource_id=f"440300-{i:06d}",
            channel="assisted",
            actor_id=7,
            actor_role="clerk",
            service_point="440303001001",
            data={"step": i, "item": "101110004000", "big": 2**60},
            personal={"resident_id": "110101199003071234"} if personal else None,
        )
        for i in range(n)
    ]


def _leaf_hashes(session: Session) -> list[bytes]:
    return [
        bytes(h) for h in session.scalars(select(LedgerLeaf.leaf_hash).order_by(LedgerLeaf.idx))
    ]


def test_integration_builds_the_tree_and_signs_checkpoints(db: Session, settings: Settings) -> None:
    evs = _record(db, 5, personal=True)
    assert ledger.integrate_pending(db, settings=settings) == 5
    assert ledger.integrate_pending(db, settings=settings) == 0
    hashes = _leaf_hashes(db)
    st = store.state(db)
    assert st.size == 5 and bytes(st.root) == merkle.root_from_leaves(hashes)
    cp = ledger.latest_checkpoint(db)
    key = notes.Verifier.parse(ledger.public_key(settings))
    body = notes.open_checkpoint(cp.note, key)
    assert (body.size, body.root, body.origin) == (5, bytes(st.root), "tongban.local/ledger")
    first = ledger.entry(db, index=0)
    assert merkle.leaf_hash(first["data"].encode()) == base64.b64decode(first["leaf_hash"])
    # Personal data is only committed to, never present in the leaf; nor is the actor.
    assert "110101199003071234" not in first["data"]
    assert first["entry"]["commitment"] == evs[0].personal_commitment
    assert first["entry"]["v"] == 2 and "actor_id" not in first["entry"]
    assert first["entry"]["uid"] == evs[0].uid
    assert first["entry"]["data"]["big"] == str(2**60)  # beyond RFC 8785's integer range
    assert first["entry"]["occurred_at"].endswith("Z")
    # RFC 8785: sorted keys, no spaces, UTF-8 kept as is.
    assert first["data"].startswith(
        '{"action":"case.submitted","actor_role":"clerk","channel":"assisted","commitment":"'
    )


def test_proofs_from_storage_match_memory(db: Session, settings: Settings) -> None:
    _record(db, 700)
    sizes = []
    while ledger.integrate_pending(db, settings=settings, batch_size=97):
        sizes.append(store.current_size(db))
    hashes = _leaf_hashes(db)
    assert len(hashes) == 700
    levels = set(db.scalars(select(LedgerNode.level)))
    assert levels == set(range(store.STORED_LEVEL, 10))
    for size in (1, 97, 256, 257, 512, 600, 700):
        root = merkle.root_from_leaves(hashes[:size])
        assert store.root_at(db, size=size) == root
        for index in {0, size // 2, size - 1, min(255, size - 1), min(256, size - 1)}:
            proof = store.inclusion_proof(db, index=index, size=size)
            assert proof == merkle.inclusion_proof(hashes, index, size)
            merkle.verify_inclusion(hashes[index], index, size, proof, root)
    for old, new in [(0, 700), (1, 700), (97, 194), (256, 700), (300, 512), (511, 700), (700, 700)]:
        proof = store.consistency_proof(db, old=old, new=new)
        assert proof == merkle.consistency_proof(hashes, old, new)
        merkle.verify_consistency(
            old,
            new,
            merkle.root_from_leaves(hashes[:old]),
            merkle.root_from_leaves(hashes[:new]),
            proof,
        )
    with pytest.raises(Conflict):
        store.inclusion_proof(db, index=0, size=701)
    with pytest.raises(Invalid):
        store.inclusion_proof(db, index=700, size=700)
    with pytest.raises(Invalid):
        store.consistency_proof(db, old=5, new=4)


def test_receipt_verifies_offline_and_tampering_is_caught(db: Session, settings: Settings) -> None:
    evs = _record(db, 40)
    with pytest.raises(Conflict):
        ledger.receipt_for_event(db, event_uid=evs[3].uid)
    ledger.integrate_pending(db, settings=settings)
    with pytest.raises(NotFound):
        ledger.receipt_for_event(db, event_uid="no-such-event")
    receipt = ledger.receipt_for_event(db, event_uid=evs[3].uid)
    key = notes.Verifier.parse(ledger.public_key(settings))
    result = ledger.verify_receipt(json.dumps(receipt), key)
    assert result.entry["uid"] == evs[3].uid and result.index == 3
    assert result.checkpoint.size == 40
    ledger.verify_receipt(receipt["proof"], key)
    text = receipt["proof"]
    lines = text.split("\n")
    # Change the entry (one action letter), the index, a proof hash, the checkpoint root.
    entry = base64.b64decode(lines[1][6:]).replace(b"submitted", b"submittee")
    forged = [
        text.replace(lines[1], "extra " + base64.b64encode(entry).decode()),
        text.replace("\nindex 3\n", "\nindex 4\n"),
        text.replace(lines[3], base64.b64encode(bytes(32)).decode()),
        "\n".join(lines[:3] + lines[4:]),
        text.replace(receipt["checkpoint"].split("\n")[2], base64.b64encode(bytes(32)).decode()),
    ]
    for bad in forged:
        with pytest.raises(ledger.ReceiptError):
            ledger.verify_receipt(bad, key)
    other = notes.Signer("tongban.local/ledger", notes.load_or_create_key(settings.data_dir / "x"))
    with pytest.raises(ledger.ReceiptError):
        ledger.verify_receipt(text, other.verifier)


def test_late_commits_are_not_skipped(db: Session, settings: Settings) -> None:
    signer = ledger.node_signer(settings)
    t0 = utcnow()

    def integrate(at: timedelta, *, full: bool = False) -> int:
        return integrator.integrate_pending(
            db, signer=signer, settle_seconds=60, now=t0 + at, full_scan=full
        )

    evs = _record(db, 3)
    top = max(e.id for e in evs)
    assert integrate(timedelta(0)) == 3
    # An event that allocated a smaller id but committed after a later one (PostgreSQL).
    late = Event(**{**_clone(evs[0]), "id": top + 10, "uid": "late-1"})
    db.add(late)
    db.flush()
    assert integrate(timedelta(seconds=1)) == 1
    db.add(Event(**{**_clone(evs[0]), "id": top + 5, "uid": "late-2"}))
    db.flush()
    assert integrate(timedelta(seconds=2)) == 1  # within settle time: still scanned
    # After two settle periods the watermark passes top + 10; a straggler far below it is
    # only found by the periodic full scan.
    integrate(timedelta(seconds=100))
    integrate(timedelta(seconds=200))
    assert store.state(db).scan_from >= top + 10
    db.add(Event(**{**_clone(evs[0]), "id": top + 1, "uid": "late-3"}))
    db.flush()
    assert integrate(timedelta(seconds=201)) == 0
    assert integrate(timedelta(seconds=202), full=True) == 1
    n_events = db.scalar(select(func.count()).select_from(Event))
    assert store.current_size(db) == n_events


def _clone(e: Event) -> dict[str, object]:
    cols = ["occurred_at", "action", "resource_type", "resource_id", "channel", "data"]
    return {c: getattr(e, c) for c in cols}


def test_api_routes(client: TestClient, db: Session, settings: Settings) -> None:
    assert client.get("/api/v1/ledger/checkpoint").status_code == 404
    evs = _record(db, 12)
    db.flush()
    r = client.get(f"/api/v1/ledger/receipts/{evs[0].uid}")
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem")
    app_settings = client.app.state.settings  # type: ignore[attr-defined]
    ledger.integrate_pending(db, settings=app_settings)
    db.flush()
    key = client.get("/api/v1/ledger/key").json()
    assert key["origin"] == "tongban.local/ledger"
    verifier = notes.Verifier.parse(key["verifier_key"])
    r = client.get("/api/v1/ledger/checkpoint")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    cp = notes.open_checkpoint(r.text, verifier)
    assert cp.size == 12
    entry = client.get("/api/v1/ledger/entries/4").json()
    leaf = merkle.leaf_hash(entry["data"].encode())
    proof = client.get("/api/v1/ledger/proof/inclusion", params={"index": 4, "size": 12}).json()
    merkle.verify_inclusion(leaf, 4, 12, [base64.b64decode(h) for h in proof["proof"]], cp.root)
    default = client.get("/api/v1/ledger/proof/inclusion", params={"index": 4}).json()
    assert default == proof
    cons = client.get("/api/v1/ledger/proof/consistency", params={"old": 5, "new": 12}).json()
    assert len(cons["proof"]) > 0
    receipt = client.get(f"/api/v1/ledger/receipts/{evs[7].uid}").json()
    assert ledger.verify_receipt(receipt["proof"], verifier).index == 7
    bad = [
        ("/api/v1/ledger/entries/-1", 422),
        ("/api/v1/ledger/entries/abc", 422),
        ("/api/v1/ledger/entries/12", 404),
        ("/api/v1/ledger/proof/inclusion?index=12&size=12", 422),
        ("/api/v1/ledger/proof/inclusion?index=x", 422),
        ("/api/v1/ledger/proof/inclusion?index=0&size=0", 422),
        ("/api/v1/ledger/proof/inclusion?index=0&size=13", 409),
        ("/api/v1/ledger/proof/consistency?old=13&new=12", 422),
        ("/api/v1/ledger/proof/consistency?old=1&new=99", 409),
        ("/api/v1/ledger/proof/consistency", 422),
        ("/api/v1/ledger/receipts/nope", 404),
    ]
    for url, status in bad:
        r = client.get(url)
        assert r.status_code == status, url
        assert r.headers["content-type"].startswith("application/problem+json"), url
    assert settings.node_name == app_settings.node_name
