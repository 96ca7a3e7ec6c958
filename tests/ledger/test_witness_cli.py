"""The witness refuses forks and rewrites; the CLI verifies logs and receipts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.conftest import BoundDatabase
from tongban.events import service as events
from tongban.ledger import merkle, notes
from tongban.ledger import service as ledger
from tongban.ledger.client import VerifyError, verify_log
from tongban.ledger.witness import (
    WitnessError,
    add_checkpoint,
    add_checkpoint_request,
    create_witness_app,
)
from tongban.platform.config import Settings
from tongban.shell.cli import app as cli

ORIGIN = "province-a.example/ledger"


class Log:
    """An in-memory log that can sign checkpoints (honest or not)."""

    def __init__(self, signer: notes.Signer, entries: list[bytes]) -> None:
        self.signer = signer
        self.hashes = [merkle.leaf_hash(e) for e in entries]

    def note(self, size: int) -> str:
        root = merkle.root_from_leaves(self.hashes[:size])
        return self.signer.sign(notes.Checkpoint(self.signer.name, size, root).text())

    def request(self, old: int, new: int) -> str:
        proof = merkle.consistency_proof(self.hashes, old, new)
        return add_checkpoint_request(old, proof, self.note(new))


@pytest.fixture
def log_signer() -> notes.Signer:
    return notes.Signer(ORIGIN, Ed25519PrivateKey.generate())


@pytest.fixture
def cosigner() -> notes.Signer:
    return notes.Signer(
        "province-b.example/witness", Ed25519PrivateKey.generate(), notes.SIG_COSIGNATURE_V1
    )


def _status(fn: object) -> int:
    with pytest.raises(WitnessError) as info:
        fn()  # type: ignore[operator]
    return info.value.status


def test_witness_cosigns_growth_and_refuses_a_rewritten_history(
    db: Session, log_signer: notes.Signer, cosigner: notes.Signer
) -> None:
    honest = Log(log_signer, [f"event {i}".encode() for i in range(20)])
    logs = [log_signer.verifier]

    def submit(body: str) -> str:
        return add_checkpoint(db, body=body, logs=logs, cosigner=cosigner, timestamp=1_700_000_000)

    line = submit(honest.request(0, 5))
    # The cosignature verifies as a C2SP cosignature/v1 over the checkpoint.
    _, signed = notes.open_note(honest.note(5) + line, [cosigner.verifier])
    assert signed == [cosigner.verifier]
    submit(honest.request(5, 12))
    submit(honest.request(12, 12))  # same head again is fine
    # The same log key signs a rewritten history: entry 3 changed.
    forked = Log(log_signer, [f"event {i}".encode() for i in range(20)])
    forked.hashes[3] = merkle.leaf_hash(b"rewritten")
    assert _status(lambda: submit(forked.request(12, 12))) == 409  # same size, other root
    assert _status(lambda: submit(forked.request(12, 15))) == 422  # no consistency with 12
    # A forged proof for the fork, made of the honest proof, does not help either.
    forged = add_checkpoint_request(
        12, merkle.consistency_proof(honest.hashes, 12, 15), forked.note(15)
    )
    assert _status(lambda: submit(forged)) == 422
    with pytest.raises(WitnessError) as info:
        submit(honest.request(5, 15))  # stale old size
    assert info.value.status == 409 and info.value.body == "12\n"
    assert info.value.content_type == "text/x.tlog.size"
    stranger = Log(notes.Signer(ORIGIN, Ed25519PrivateKey.generate()), [b"x"] * 20)
    assert _status(lambda: submit(stranger.request(12, 15))) == 403
    other = Log(notes.Signer("other.example/log", Ed25519PrivateKey.generate()), [b"x"])
    assert _status(lambda: submit(other.request(0, 1))) == 404
    assert _status(lambda: submit(add_checkpoint_request(16, [], honest.note(15)))) == 400
    assert _status(lambda: submit("garbage")) == 400
    # The honest log can still move on.
    submit(honest.request(12, 20))


def test_witness_http_endpoint(
    bound_database: BoundDatabase, log_signer: notes.Signer, cosigner: notes.Signer
) -> None:
    honest = Log(log_signer, [f"e{i}".encode() for i in range(10)])
    app = create_witness_app(bound_database, logs=[log_signer.verifier], cosigner=cosigner)
    with TestClient(app) as http:
        r = http.post("/add-checkpoint", content=honest.request(0, 4))
        assert r.status_code == 200 and r.text.startswith("\u2014 province-b.example/witness ")
        r = http.post("/add-checkpoint", content=honest.request(0, 6))
        assert r.status_code == 409 and r.text == "4\n"
        assert r.headers["content-type"].startswith("text/x.tlog.size")
        forked = Log(log_signer, [b"forged"] * 10)
        r = http.post("/add-checkpoint", content=forked.request(4, 8))
        assert r.status_code == 422


def _events(session: Session, n: int) -> list[str]:
    return [
        events.record(
            session,
            action="case.accepted",
            resource_type="case",
            resource_id=str(i),
            channel="online",
        ).uid
        for i in range(n)
    ]


def test_cli_verify_receipt_offline(db: Session, settings: Settings, tmp_path: Path) -> None:
    uids = _events(db, 9)
    ledger.integrate_pending(db, settings=settings)
    receipt = ledger.receipt_for_event(db, event_uid=uids[4])
    good = tmp_path / "step.tlog-proof"
    good.write_text(receipt["proof"])
    as_json = tmp_path / "step.json"
    as_json.write_text(json.dumps(receipt))
    key = ledger.public_key(settings)
    runner = CliRunner()
    for path in (good, as_json):
        res = runner.invoke(cli, ["ledger", "verify-receipt", str(path), "--key", key])
        assert res.exit_code == 0, res.output
        assert f"event {uids[4]}" in res.output and "entry 4" in res.output
    bad = tmp_path / "bad.tlog-proof"
    bad.write_text(receipt["proof"].replace("index 4", "index 5"))
    res = runner.invoke(cli, ["ledger", "verify-receipt", str(bad), "--key", key])
    assert res.exit_code == 1 and "FAILED" in res.output
    res = runner.invoke(cli, ["ledger", "verify-receipt", str(good), "--key", "nonsense"])
    assert res.exit_code == 2


def test_online_verify_detects_a_rewrite(
    client: TestClient, db: Session, settings: Settings, tmp_path: Path
) -> None:
    _events(db, 6)
    ledger.integrate_pending(db, settings=settings)
    key = notes.Verifier.parse(ledger.public_key(settings))
    state = tmp_path / "verifier.json"
    first = verify_log("http://testserver", key, state_path=state, http=client)
    assert first.previous is None and first.checkpoint.size == 6
    _events(db, 5)
    ledger.integrate_pending(db, settings=settings)
    second = verify_log("http://testserver", key, state_path=state, http=client)
    assert second.previous is not None and second.previous.size == 6
    assert second.checkpoint.size == 11
    # What the verifier remembers disagrees with what the log now proves: a rewrite.
    data = json.loads(state.read_text())
    data[key.vkey()]["root"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    data[key.vkey()]["size"] = 7
    state.write_text(json.dumps(data))
    with pytest.raises(VerifyError, match="NOT consistent"):
        verify_log("http://testserver", key, state_path=state, http=client)
    wrong_key = notes.Signer("tongban.local/ledger", Ed25519PrivateKey.generate()).verifier
    with pytest.raises(VerifyError, match="checkpoint"):
        verify_log("http://testserver", wrong_key, state_path=state, http=client)
