"""A process killed with SIGKILL mid-integration leaves a log that verifies and loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

from tongban.events.models import Event
from tongban.ledger import integrator, merkle, notes, store
from tongban.ledger.models import LedgerCheckpoint, LedgerLeaf
from tongban.platform.db import Database


def _check_log(database: Database, key: notes.Verifier) -> tuple[int, bytes]:
    with database.session_scope() as session:
        st = store.state(session)
        hashes = [
            bytes(h) for h in session.scalars(select(LedgerLeaf.leaf_hash).order_by(LedgerLeaf.idx))
        ]
        datas = [
            bytes(d) for d in session.scalars(select(LedgerLeaf.data).order_by(LedgerLeaf.idx))
        ]
        assert len(hashes) == st.size
        assert [merkle.leaf_hash(d) for d in datas] == hashes
        assert merkle.root_from_leaves(hashes) == bytes(st.root)
        idx = list(session.scalars(select(LedgerLeaf.idx).order_by(LedgerLeaf.idx)))
        assert idx == list(range(len(idx)))
        for cp in session.scalars(select(LedgerCheckpoint)):
            body = notes.open_checkpoint(cp.note, key)
            assert body.root == merkle.root_from_leaves(hashes[: body.size])
        return int(st.size), bytes(st.root)


def test_sigkill_during_integration(fresh_database: Database, tmp_path: Path) -> None:
    url = fresh_database.url
    schema = ""
    if fresh_database.engine.dialect.name == "postgresql":
        with fresh_database.engine.connect() as conn:
            schema = str(conn.execute(text("SELECT current_schema()")).scalar())
    keyfile, uidlog = tmp_path / "key.pem", tmp_path / "uids.txt"
    uidlog.touch()
    child = Path(__file__).with_name("crash_child.py")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for _round in range(2):
        proc = subprocess.Popen(
            [sys.executable, str(child), url, schema, str(keyfile), str(uidlog)], env=env
        )
        deadline = time.monotonic() + 60
        start = len(uidlog.read_text().split())
        while len(uidlog.read_text().split()) < start + 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
    key = notes.Signer("crash.test/ledger", notes.load_or_create_key(keyfile)).verifier
    size, root = _check_log(fresh_database, key)
    assert size > 0
    committed = set(uidlog.read_text().split())
    with fresh_database.session_scope() as session:
        in_db = set(session.scalars(select(Event.uid)))
    assert committed <= in_db  # nothing committed was lost
    signer = notes.Signer("crash.test/ledger", notes.load_or_create_key(keyfile))
    integrator.integrate_all(fresh_database, signer=signer, batch_size=500, full_scan=True)
    new_size, new_root = _check_log(fresh_database, key)
    with fresh_database.session_scope() as session:
        n_events = session.scalar(select(func.count()).select_from(Event))
        leaf_events = session.scalar(select(func.count(func.distinct(LedgerLeaf.event_id))))
        assert n_events == new_size == leaf_events
        proof = store.consistency_proof(session, old=size, new=new_size)
    merkle.verify_consistency(size, new_size, root, new_root, proof)
