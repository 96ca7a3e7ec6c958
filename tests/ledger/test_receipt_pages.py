"""The public receipt pages (issue #14): a step's receipt at /ledger/receipts/{uid} and the
check of a downloaded receipt at /ledger/check say "verified" for a good receipt and name the
failure of a forged one: an edited step, a wrong proof, a wrong signature, an unknown key, a
checkpoint the node's ledger does not extend; files that are no receipt are refused by their
bytes before any parsing. Both databases (the `db` fixture runs on SQLite and PostgreSQL).
"""

from __future__ import annotations

import base64
import html
import json
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.ledger import explain, merkle, notes, receipts
from tongban.ledger import service as ledger
from tongban.ledger.models import LedgerLeaf
from tongban.platform.config import Settings

CASE = "440300-20261130-7KQ2M9XD4HZT"
REASON = "申请人材料不齐全，王建国"  # a refusal reason: kept by the node, never on the page
ZH = {"accept-language": "zh-CN"}
EN = {"accept-language": "en"}


def _refusal(db: Session, settings: Settings) -> str:
    """A case is received and an official refuses it; the ledger integrates both. The uid
    of the refusal."""
    events.record(
        db,
        action="case.submitted",
        resource_type="case",
        resource_id=CASE,
        channel="online",
        actor_role="citizen",
        data={"material_count": 1},
    )
    event = events.record(
        db,
        action="case.refuse",
        resource_type="case",
        resource_id=CASE,
        channel="assisted",
        actor_role="official",
        service_point="440305",
        reason=REASON,
        data={"from": "received", "to": "not_accepted", "version": 2},
    )
    ledger.integrate_pending(db, settings=settings, full_scan=True)
    return event.uid


def _receipt(client: TestClient, uid: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/ledger/receipts/{uid}")
    assert response.status_code == 200
    return dict(response.json())


def _csrf(client: TestClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ledger/check").text)
    assert match
    return match.group(1)


def _check(client: TestClient, content: bytes | str, *, lang: dict[str, str] = EN) -> Any:
    """Upload `content` as a receipt file on the check page (as a browser does: the form's
    CSRF token with it)."""
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        "/ledger/check",
        data={"csrf_token": _csrf(client)},
        files={"file": ("receipt.json", data, "application/json")},
        headers=lang,
    )


def _with_proof(doc: dict[str, Any], proof: str) -> str:
    """The receipt with another proof text; its readable copies follow, so only the proof
    itself can give the forgery away."""
    parsed = receipts.parse_proof_text(proof)
    size = notes.parse_checkpoint(notes.parse_note(parsed.checkpoint_note).text).size
    changed = dict(doc, proof=proof, checkpoint=parsed.checkpoint_note)
    changed.update(index=parsed.index, size=size)
    changed["inclusion_proof"] = [base64.b64encode(h).decode() for h in parsed.proof]
    if parsed.extra is not None:
        changed["entry"] = json.loads(parsed.extra)
        changed["leaf_hash"] = base64.b64encode(merkle.leaf_hash(parsed.extra)).decode()
    return json.dumps(changed, ensure_ascii=False)


def _verdict(page: str) -> str:
    """The verdict box of a page, its entities unescaped."""
    start = page.index('class="verdict')
    return html.unescape(page[start : page.index("</div>", start)])


# --- the page of a step's receipt ------------------------------------------------------------


def test_the_receipt_page_says_verified_for_a_good_receipt(
    client: TestClient, db: Session, settings: Settings
) -> None:
    uid = _refusal(db, settings)
    page = client.get(f"/ledger/receipts/{uid}", headers=EN)
    assert page.status_code == 200
    body = page.text
    assert "Verified" in _verdict(body) and "good" in _verdict(body)
    # What happened, in words; when, in Beijing time; the case number the leaf shows.
    assert "The application was not accepted" in body
    assert CASE in body
    assert "An official of the competent department" in body
    assert "At a service point, with a clerk" in body
    occurred = _receipt(client, uid)["entry"]["occurred_at"]
    hour = (int(occurred[11:13]) + 8) % 24
    assert f"{hour:02d}:{occurred[14:16]}:{occurred[17:19]}" in body
    # The checkpoint, the witnesses (none configured), the steps, the raw formats.
    assert "Steps in the ledger" in body and "None yet" in body
    assert "Agrees with the ledger today" in body
    assert f'href="/api/v1/ledger/receipts/{uid}" download=' in body
    assert ledger.public_key(settings) in body
    # Nothing the leaf leaves out: not the reason, not who acted.
    assert REASON not in body and "王建国" not in body
    # Public: no login needed, no link to the case for an anonymous visitor.
    assert f'href="/cases/{CASE}"' not in body
    zh = client.get(f"/ledger/receipts/{uid}", headers=ZH).text
    assert "已核验" in _verdict(zh)
    assert 'lang="zh-CN"' in zh


def test_the_receipt_page_names_the_failure_when_the_stored_step_was_edited(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """Someone with database access rewrites the stored leaf (refused -> approved): the
    node's own page no longer verifies it and says that the inclusion proof fails."""
    uid = _refusal(db, settings)
    index = _receipt(client, uid)["index"]
    leaf = db.get(LedgerLeaf, index)
    assert leaf is not None
    edited = bytes(leaf.data).replace(b"case.refuse", b"case.approve")
    db.execute(update(LedgerLeaf).where(LedgerLeaf.idx == index).values(data=edited))
    db.flush()
    body = client.get(f"/ledger/receipts/{uid}", headers=EN).text
    verdict = _verdict(body)
    assert "Verification failed" in verdict and "The inclusion proof does not match" in verdict
    # The claimed step is not shown as if it were proven.
    assert "The application was approved" not in body
    zh = _verdict(client.get(f"/ledger/receipts/{uid}", headers=ZH).text)
    assert "核验未通过" in zh


def test_an_unknown_receipt_number_is_a_readable_404(client: TestClient) -> None:
    page = client.get("/ledger/receipts/00000000-0000-4000-8000-000000000000", headers=EN)
    assert page.status_code == 404
    assert "No step has this receipt number" in page.text


# --- the check page --------------------------------------------------------------------------


def test_the_check_page_says_verified_for_a_good_receipt_file_or_text(
    client: TestClient, db: Session, settings: Settings
) -> None:
    uid = _refusal(db, settings)
    doc = _receipt(client, uid)
    assert client.get("/ledger/check", headers=EN).status_code == 200
    page = _check(client, json.dumps(doc))
    assert page.status_code == 200
    assert "Verified" in _verdict(page.text)
    assert "The application was not accepted" in page.text and CASE in page.text
    # The proof text pasted into the text box (the browser sends CRLF line ends).
    pasted = client.post(
        "/ledger/check",
        data={"csrf_token": _csrf(client), "text": doc["proof"].replace("\n", "\r\n").strip()},
        headers=ZH,
    )
    assert pasted.status_code == 200 and "已核验" in _verdict(pasted.text)


def test_the_check_page_names_the_failure_of_each_forgery(
    client: TestClient, db: Session, settings: Settings
) -> None:
    uid = _refusal(db, settings)
    doc = _receipt(client, uid)
    proof = receipts.parse_proof_text(doc["proof"])
    assert proof.extra is not None
    key = ledger.node_signer(settings)

    def fails(content: str, failure: str) -> None:
        page = _check(client, content)
        assert page.status_code == 200, page.text
        verdict = _verdict(page.text)
        assert "Verification failed" in verdict and failure in verdict, (failure, verdict)

    # The readable copy of the step edited (what a person reads first).
    edited = dict(doc, entry=dict(doc["entry"], action="case.approve"))
    fails(json.dumps(edited), "The readable copy of the step was changed")
    # The step edited in the proof itself (and in the copy, consistently).
    forged_entry = proof.extra.replace(b"case.refuse", b"case.approve")
    forged = receipts.build_proof_text(
        entry=forged_entry,
        index=proof.index,
        proof=proof.proof,
        checkpoint_note=proof.checkpoint_note,
    )
    fails(_with_proof(doc, forged), "The inclusion proof does not match")
    # A wrong proof: another position in the tree.
    moved = doc["proof"].replace(f"\nindex {proof.index}\n", f"\nindex {proof.index + 1}\n")
    fails(_with_proof(doc, moved), "The inclusion proof does not match")
    # A wrong signature: the signed root changed, the signature kept.
    note = notes.parse_note(proof.checkpoint_note)
    checkpoint = notes.parse_checkpoint(note.text)
    other_root = notes.Checkpoint(checkpoint.origin, checkpoint.size, bytes(32)).text()
    bad_sig = other_root + "\n" + "".join(s.line() for s in note.signatures)
    fails(
        _with_proof(doc, doc["proof"].replace(proof.checkpoint_note, bad_sig)),
        "The signature is not valid",
    )
    # Signed with another key of the same name (a forger's key).
    stranger = notes.Signer(key.name, Ed25519PrivateKey.generate())
    fails(
        _with_proof(doc, doc["proof"].replace(proof.checkpoint_note, stranger.sign(note.text))),
        "Signed with an unknown key",
    )
    # The node's own key misused: a one-step ledger holding only the forged step, signed.
    alone = notes.Checkpoint(checkpoint.origin, 1, merkle.leaf_hash(forged_entry))
    fork = receipts.build_proof_text(
        entry=forged_entry, index=0, proof=[], checkpoint_note=key.sign(alone.text())
    )
    fails(_with_proof(doc, fork), "not consistent with this node's ledger")
    # A checkpoint claiming more steps than the node ever signed.
    ahead_cp = notes.Checkpoint(checkpoint.origin, checkpoint.size + 5, checkpoint.root)
    ahead = receipts.build_proof_text(
        entry=proof.extra,
        index=proof.index,
        proof=proof.proof,
        checkpoint_note=key.sign(ahead_cp.text()),
    )
    page = _check(client, _with_proof(doc, ahead))
    assert "Verification failed" in _verdict(page.text)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "This is a PDF, not a ledger receipt"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "This is not a ledger receipt"),
        (b"hello, is this a receipt?", "This is not a ledger receipt"),
        (b"\xff\xfe{\x00", "This is not a ledger receipt"),
        (b"{" + b" " * explain.RECEIPT_MAX_BYTES + b"}", "The file is too large to be a receipt"),
        (b"", "Nothing to check"),
    ],
    ids=["pdf", "png", "text", "utf16", "too-large", "empty"],
)
def test_the_check_page_refuses_what_is_no_receipt_by_its_bytes(
    client: TestClient, content: bytes, message: str
) -> None:
    page = _check(client, content)
    assert page.status_code == 422
    assert message in page.text
    assert 'class="verdict' not in page.text


def test_a_malformed_receipt_names_what_failed(client: TestClient) -> None:
    page = _check(client, '{"proof": "c2sp.org/tlog-proof@v1\\nindex x\\n\\nnote\\n"}')
    assert page.status_code == 200
    assert "The receipt is damaged" in _verdict(page.text)


# --- witnesses -------------------------------------------------------------------------------


def test_witnesses_are_counted_when_their_cosignature_verifies(
    client: TestClient, db: Session, settings: Settings
) -> None:
    uid = _refusal(db, settings)
    doc = _receipt(client, uid)
    proof = receipts.parse_proof_text(doc["proof"])
    witness = notes.Signer(
        "witness.example/w1", Ed25519PrivateKey.generate(), notes.SIG_COSIGNATURE_V1
    )
    stranger = notes.Signer(
        "witness.example/w2", Ed25519PrivateKey.generate(), notes.SIG_COSIGNATURE_V1
    )
    settings.ledger_witness_keys = [witness.verifier.vkey()]
    text = notes.parse_note(proof.checkpoint_note).text
    cosigned = (
        proof.checkpoint_note
        + witness.sign_line(text, timestamp=1_780_000_000)
        + stranger.sign_line(text, timestamp=1_780_000_000)
    )
    page = _check(client, _with_proof(doc, doc["proof"].replace(proof.checkpoint_note, cosigned)))
    assert "Verified" in _verdict(page.text)
    assert "Witnesses that cosigned this checkpoint: 1." in page.text
    assert "witness.example/w1" in page.text
    assert "Cosignatures by keys this node does not know: 1" in page.text
    # The same cosignature on another checkpoint text does not verify.
    line = witness.sign_line(text.upper(), timestamp=1_780_000_000)
    broken = proof.checkpoint_note + line
    page = _check(client, _with_proof(doc, doc["proof"].replace(proof.checkpoint_note, broken)))
    assert "A witness's cosignature is not valid" in _verdict(page.text)


# --- the same verdict as the CLI -------------------------------------------------------------


def test_the_report_follows_verify_receipt_step_by_step(db: Session, settings: Settings) -> None:
    uid = _refusal(db, settings)
    receipt = ledger.receipt_for_event(db, event_uid=uid)
    report = ledger.check_receipt(db, settings=settings, text=receipt["proof"])
    assert report.verified and set(report.steps.values()) == {"passed"}
    assert report.entry == receipt["entry"]
    # The walk shown to people ends at the signed root.
    assert report.walk[-1].result == report.root if report.walk else report.leaf_hash == report.root
    stranger = notes.Signer(ledger.log_origin(settings), Ed25519PrivateKey.generate())
    with pytest.raises(ledger.ReceiptError) as raised:
        ledger.verify_receipt(receipt["proof"], stranger.verifier)
    failed = explain.check(receipt["proof"], stranger.verifier)
    assert raised.value.code == failed.failure == "unknown_key"
    assert failed.steps == {
        "read": "passed",
        "signature": "failed",
        "inclusion": "unchecked",
        "entry": "unchecked",
        "witnesses": "unchecked",
        "consistency": "unchecked",
    }
    assert failed.entry is None


def test_an_empty_form_as_a_browser_sends_it_asks_for_a_receipt(client: TestClient) -> None:
    """A browser sends the file field even when no file was chosen (no name, no bytes)."""
    page = client.post(
        "/ledger/check",
        data={"csrf_token": _csrf(client), "text": ""},
        files={"file": ("", b"", "application/octet-stream")},
        headers=ZH,
    )
    assert page.status_code == 422
    assert "没有可核验的内容" in page.text
    assert 'aria-invalid="true"' in page.text
