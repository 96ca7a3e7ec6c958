"""Nodes witness each other over real HTTP: a node pushes its checkpoint, the peers' witnesses
(every node's main app) cosign it, the cosignatures are kept and served with the checkpoint,
and `tongban ledger verify --min-cosignatures` counts them. Three live nodes on loopback, each
its own database on the backend under test, listed in a directory the national key signed."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from tests.support.databases import TestDatabases
from tongban.events import service as events
from tongban.exchange import service as exchange
from tongban.ledger import cosign, merkle, notes, push
from tongban.ledger import service as ledger
from tongban.ledger.models import LedgerCheckpoint, LedgerCosignature, WitnessState
from tongban.ledger.witness import add_checkpoint_request
from tongban.platform.config import Settings
from tongban.platform.db import Database
from tongban.shell.cli import app as cli


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveNode:
    """One node: its settings, database and (once started) its HTTP server."""

    name: str
    settings: Settings
    database: Database
    port: int
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def witness_key(self) -> notes.Verifier:
        return ledger.witness_signer(self.settings).verifier

    @property
    def log_key(self) -> notes.Verifier:
        return ledger.node_signer(self.settings).verifier

    def start(self) -> None:
        from tongban.shell.app import create_app

        app = create_app(self.settings, self.database)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
            self.server = None

    def grow(self, n: int) -> list[str]:
        """Record `n` events and integrate them (a new signed checkpoint); their uids."""
        with self.database.session_scope() as session:
            uids = [
                events.record(
                    session,
                    action="case.accepted",
                    resource_type="case",
                    resource_id=f"{self.name}-{i}",
                    channel="online",
                ).uid
                for i in range(n)
            ]
        with self.database.session_scope() as session:
            ledger.integrate_pending(session, settings=self.settings)
        return uids

    def pusher(self) -> push.WitnessPusher:
        settings = self.settings
        return push.WitnessPusher(
            self.database,
            peers=lambda session: ledger.peers(session, settings=settings),
            timeout=2.0,
        )

    def cosignatures(self) -> list[tuple[int, str]]:
        with self.database.session_scope() as session:
            rows = session.execute(
                select(LedgerCosignature.size, LedgerCosignature.witness).order_by(
                    LedgerCosignature.size, LedgerCosignature.witness
                )
            )
            return [(int(s), str(w)) for s, w in rows]

    def witnessed(self, origin: str) -> int | None:
        """The size this node's witness last cosigned for `origin`."""
        with self.database.session_scope() as session:
            row = session.get(WitnessState, origin)
            return None if row is None else int(row.size)


@pytest.fixture
def nodes(
    tmp_path: Path, test_databases: TestDatabases, backend: str
) -> Iterator[dict[str, LiveNode]]:
    """Guangdong and Sichuan started, Hubei listed but not started (its witness is down)."""
    national = Settings(data_dir=tmp_path / "national", node_name="national.tongban.test")
    key = exchange.node_key(national).public_b64
    made: dict[str, LiveNode] = {}
    for name, region in (("guangdong", "440000"), ("sichuan", "510000"), ("hubei", "420000")):
        port = _free_port()
        made[name] = LiveNode(
            name,
            Settings(
                data_dir=tmp_path / name,
                node_name=f"{name}.tongban.test",
                node_region=region,
                public_base_url=f"http://127.0.0.1:{port}",
                exchange_national_key=key,
            ),
            test_databases.create(backend),
            port,
        )
    national_db = test_databases.create(backend)
    with national_db.session_scope() as session:
        for node in made.values():
            exchange.register_node(session, entry=exchange.this_node(node.settings))
        document = exchange.export_directory(session, settings=national)
    national_db.dispose()
    for node in made.values():
        with node.database.session_scope() as session:
            exchange.load_directory_document(session, document=document, settings=node.settings)
    made["guangdong"].start()
    made["sichuan"].start()
    try:
        yield made
    finally:
        for node in made.values():
            node.stop()
            node.database.dispose()


def _verify(node: LiveNode, tmp_path: Path, minimum: int, *witnesses: LiveNode) -> tuple[int, str]:
    args = ["ledger", "verify", "--url", node.url, "--key", node.log_key.vkey()]
    args += ["--state", str(tmp_path / f"verifier-{node.name}.json")]
    for w in witnesses:
        args += ["--witness-key", w.witness_key.vkey()]
    args += ["--min-cosignatures", str(minimum)]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


def test_nodes_witness_each_other_and_verify_counts_cosignatures(
    nodes: dict[str, LiveNode], tmp_path: Path
) -> None:
    gd, sc, hb = nodes["guangdong"], nodes["sichuan"], nodes["hubei"]
    # The directory lists each node's ledger and witness keys; a node's peers are the others.
    with gd.database.session_scope() as session:
        peers = {p.node_id: p for p in ledger.peers(session, settings=gd.settings)}
    # The national node is listed too, without an address: witnessed, never pushed to.
    assert set(peers) == {sc.settings.node_name, hb.settings.node_name, "national.tongban.test"}
    assert peers[sc.settings.node_name].witness_key == sc.witness_key
    assert peers[sc.settings.node_name].log_key == sc.log_key
    uids = gd.grow(5)
    size = _size(gd)
    pusher = gd.pusher()
    try:
        outcomes = {o.witness: o.status for o in pusher.run_once(now=0.0)}
        # Sichuan cosigns; Hubei's witness is down and the pusher goes on.
        assert outcomes == {sc.witness_key.name: "cosigned", hb.witness_key.name: "down"}
        assert gd.cosignatures() == [(size, sc.witness_key.name)]
        assert sc.witnessed(gd.log_key.name) == size
        # The checkpoint is served with the cosignature: a valid note with two signatures.
        note = httpx.get(f"{gd.url}/api/v1/ledger/checkpoint").text
        parsed, signed = notes.open_note(note, [gd.log_key, sc.witness_key])
        assert signed == [gd.log_key, sc.witness_key] and len(parsed.signatures) == 2
        # The receipt page counts the directory's witness (no witness key configured).
        with gd.database.session_scope() as session:
            report = ledger.check_event_receipt(session, settings=gd.settings, event_uid=uids[0])
        assert report.verified and [w.name for w in report.witnesses] == [sc.witness_key.name]
        # One witness: N=1 passes; N=2 fails, saying how many were found.
        code, out = _verify(gd, tmp_path, 1, sc)
        assert code == 0, out
        assert f"1 valid cosignature(s) by known witnesses ({sc.witness_key.name})" in out
        code, out = _verify(gd, tmp_path, 2, sc, hb)
        assert code == 1 and "1 valid cosignature(s)" in out and "2 required" in out
        # Still backing off from Hubei: nothing is tried before its time.
        assert pusher.run_once(now=0.5) == []
        # Hubei comes up; the pusher catches up with it on its next try.
        hb.start()
        outcomes = {o.witness: o.status for o in pusher.run_once(now=100.0)}
        assert outcomes == {hb.witness_key.name: "cosigned"}
        code, out = _verify(gd, tmp_path, 2, sc, hb)
        assert code == 0, out
        # The log grows: each witness gets a consistency proof from the size it cosigned.
        gd.grow(7)
        bigger = _size(gd)
        outcomes = {o.witness: o.status for o in pusher.run_once(now=200.0)}
        assert set(outcomes.values()) == {"cosigned"} and len(outcomes) == 2
        assert sc.witnessed(gd.log_key.name) == hb.witnessed(gd.log_key.name) == bigger
        # This node forgot what Sichuan cosigned (another pusher, a restored table): Sichuan
        # answers 409 with its size, and the push is made again from there.
        with gd.database.session_scope() as session:
            session.execute(
                LedgerCosignature.__table__.delete().where(  # type: ignore[attr-defined]
                    LedgerCosignature.witness == sc.witness_key.name
                )
            )
        gd.grow(2)
        outcomes = {o.witness: o.status for o in pusher.run_once(now=300.0)}
        assert outcomes[sc.witness_key.name] == "cosigned"
        assert (_size(gd), sc.witness_key.name) in gd.cosignatures()
    finally:
        pusher.stop()
    # Witnessing goes every way: Sichuan's log is cosigned by Guangdong's witness.
    sc.grow(3)
    outcomes = {
        o.witness: o.status for o in ledger.push_checkpoints(sc.database, settings=sc.settings)
    }
    assert outcomes[gd.witness_key.name] == "cosigned"
    assert gd.witnessed(sc.log_key.name) == _size(sc)


def _size(node: LiveNode) -> int:
    with node.database.session_scope() as session:
        return int(session.scalar(select(func.max(LedgerCheckpoint.size))) or 0)


def test_a_forked_checkpoint_and_unknown_logs_are_refused(
    nodes: dict[str, LiveNode], tmp_path: Path
) -> None:
    gd, sc = nodes["guangdong"], nodes["sichuan"]
    gd.grow(4)
    cosigned = _size(gd)
    pusher = gd.pusher()
    try:
        pusher.run_once(now=0.0)
        assert sc.witnessed(gd.log_key.name) == cosigned
        # Guangdong's operator rewrites history: the next checkpoint is signed by the real key
        # over another root (an entry changed), with the honest consistency proof.
        gd.grow(3)
        forged_root = merkle.leaf_hash(b"rewritten")
        signer = ledger.node_signer(gd.settings)
        with gd.database.session_scope() as session:
            row = session.scalars(
                select(LedgerCheckpoint).order_by(LedgerCheckpoint.id.desc()).limit(1)
            ).one()
            forged = notes.Checkpoint(signer.name, int(row.size), forged_root)
            row.root, row.note = forged_root, signer.sign(forged.text())
        outcomes = pusher.run_once(now=100.0)
        sichuan = next(o for o in outcomes if o.witness == sc.witness_key.name)
        assert sichuan.status == "refused" and sichuan.detail.startswith("422")
        # Nothing is stored on either side: no cosignature of the fork, the witness unmoved.
        assert all(s == cosigned for s, _ in gd.cosignatures())
        assert sc.witnessed(gd.log_key.name) == cosigned
    finally:
        pusher.stop()
    witness_url = f"{sc.url}/api/v1/ledger/witness/add-checkpoint"
    # A log the directory does not list: 404; a listed origin signed by another key: 403.
    stranger = notes.Signer("stranger.example/ledger", Ed25519PrivateKey.generate())
    root = merkle.root_from_leaves([merkle.leaf_hash(b"x")])
    body = add_checkpoint_request(
        0, [], stranger.sign(notes.Checkpoint(stranger.name, 1, root).text())
    )
    answer = httpx.post(witness_url, content=body)
    assert answer.status_code == 404 and "unknown log" in answer.json()["detail"]
    assert answer.headers["content-type"].startswith("application/problem+json")
    impostor = notes.Signer(gd.log_key.name, Ed25519PrivateKey.generate())
    body = add_checkpoint_request(
        cosigned, [], impostor.sign(notes.Checkpoint(impostor.name, cosigned, root).text())
    )
    assert httpx.post(witness_url, content=body).status_code == 403
    # A stale old size: 409 with the size the witness knows, as text/x.tlog.size.
    with gd.database.session_scope() as session:
        head = push.latest_head(session)
        assert head is not None
        stale = push.build_request(session, head=head, old=0)
    answer = httpx.post(witness_url, content=stale)
    assert answer.status_code == 409 and answer.text == f"{cosigned}\n"
    assert answer.headers["content-type"].startswith("text/x.tlog.size")
    assert httpx.post(witness_url, content=b"\xff\xfe").status_code == 400
    assert httpx.post(witness_url, content=b"garbage").status_code == 400
    assert httpx.post(witness_url, content=b"old 0\n\n" + b"x" * 70_000).status_code == 413
    assert sc.witnessed(gd.log_key.name) == cosigned
    assert sc.witnessed(stranger.name) is None


def test_a_tampered_cosignature_is_not_counted(nodes: dict[str, LiveNode], tmp_path: Path) -> None:
    gd, sc = nodes["guangdong"], nodes["sichuan"]
    uids = gd.grow(3)
    outcomes = ledger.push_checkpoints(gd.database, settings=gd.settings)
    assert [o.status for o in outcomes if o.witness == sc.witness_key.name] == ["cosigned"]
    assert _verify(gd, tmp_path, 1, sc)[0] == 0
    # A newer checkpoint, not cosigned yet: the latest is served bare, `?cosigned=1` and the
    # receipts take the newest cosigned one that holds their step.
    cosigned = _size(gd)
    gd.grow(2)
    latest = httpx.get(f"{gd.url}/api/v1/ledger/checkpoint").text
    assert notes.parse_checkpoint(notes.parse_note(latest).text).size == _size(gd) > cosigned
    assert len(notes.parse_note(latest).signatures) == 1
    witnessed = httpx.get(f"{gd.url}/api/v1/ledger/checkpoint", params={"cosigned": 1}).text
    assert notes.parse_checkpoint(notes.parse_note(witnessed).text).size == cosigned
    assert httpx.get(f"{gd.url}/api/v1/ledger/checkpoint?cosigned=2").status_code == 404
    receipt = httpx.get(f"{gd.url}/api/v1/ledger/receipts/{uids[0]}").json()
    assert receipt["size"] == cosigned and receipt["checkpoint"] == witnessed
    with gd.database.session_scope() as session:
        report = ledger.check_event_receipt(session, settings=gd.settings, event_uid=uids[0])
    assert report.verified and report.consistent_with == _size(gd) and len(report.witnesses) == 1
    # Someone edits the stored line (the time it claims): it no longer verifies.
    with gd.database.session_scope() as session:
        line = session.scalar(select(LedgerCosignature.line))
        assert line is not None
        prefix, b64 = line.rstrip("\n").rsplit(" ", 1)
        raw = bytearray(base64.b64decode(b64))
        raw[11] ^= 0x01
        tampered = f"{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
        session.execute(update(LedgerCosignature).values(line=tampered))
    code, out = _verify(gd, tmp_path, 1, sc)
    assert code == 1 and "0 valid cosignature(s)" in out and "1 invalid" in out
    with gd.database.session_scope() as session:
        report = ledger.check_event_receipt(session, settings=gd.settings, event_uid=uids[0])
    assert not report.verified and report.failure == "witness_signature"


def test_directory_entries_and_returned_lines_are_read_strictly() -> None:
    log = notes.Signer("a.example/ledger", Ed25519PrivateKey.generate())
    wit = notes.Signer("a.example/witness", Ed25519PrivateKey.generate(), notes.SIG_COSIGNATURE_V1)
    other = notes.Signer(
        "b.example/witness", Ed25519PrivateKey.generate(), notes.SIG_COSIGNATURE_V1
    )
    keys = cosign.directory_keys(log.verifier, wit.verifier)
    entries = [
        {
            "node_id": "a.example",
            "base_url": "http://a",
            "public_keys": {"a.example#k1": "x", **keys},
        },
        # A witness key listed under another name, a log key of the wrong type, garbage: none.
        {
            "node_id": "b.example",
            "base_url": "http://b",
            "public_keys": {
                "b.example/witness": wit.verifier.vkey(),
                "b.example/ledger": other.verifier.vkey(),
                "b.example/x/witness": "not a key",
            },
        },
        {"node_id": "me.example", "base_url": "http://me", "public_keys": keys},
    ]
    peers = cosign.peers_from_directory(entries, me="me.example")
    assert [(p.node_id, p.log_key, p.witness_key) for p in peers] == [
        ("a.example", log.verifier, wit.verifier),
        ("b.example", None, None),
    ]
    assert peers[0].add_checkpoint_url == "http://a/api/v1/ledger/witness/add-checkpoint"
    text = notes.Checkpoint(log.name, 3, merkle.leaf_hash(b"r")).text()
    good = wit.sign_line(text, timestamp=1_700_000_000)
    wrong_text = wit.sign_line(text.replace("\n3\n", "\n4\n"), timestamp=1)
    lines = other.sign_line(text, timestamp=1) + wrong_text + "garbage\n" + good
    accepted = cosign.accept(lines, witness=wit.verifier, checkpoint_text=text)
    assert [a.line for a in accepted] == [good]
