"""Ledger benchmarks: integration rate, inclusion proofs from a 10M-leaf database, verification
rate, and the same operations side by side with pymerkle.

Environment: TONGBAN_BENCH_POSTGRES_URL (default the test server; skipped if unreachable),
TONGBAN_BENCH_LEDGER_EVENTS (integration backlog, default 50000),
TONGBAN_BENCH_LEDGER_LEAVES (tree size for proof latency, default 10000000).
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, insert, text

from tongban.events.models import Event
from tongban.ledger import integrator, merkle, notes, store
from tongban.ledger.models import LedgerNode, LedgerState
from tongban.platform.db import Database, make_engine, upgrade_database

PG_URL = os.environ.get(
    "TONGBAN_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
N_EVENTS = int(os.environ.get("TONGBAN_BENCH_LEDGER_EVENTS", "50000"))
N_LEAVES = int(os.environ.get("TONGBAN_BENCH_LEDGER_LEAVES", "10000000"))
SIGNER = notes.Signer("bench.example/ledger", Ed25519PrivateKey.generate())


@contextmanager
def _database(backend: str) -> Iterator[Database]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade_database(url)
            db = Database(url)
            try:
                yield db
            finally:
                db.dispose()
        return
    schema = f"bench_ledger_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    upgrade_database(PG_URL, engine=engine)
    db = Database(PG_URL, engine=engine)
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # unreachable means skip
        return False


def _fill_events(db: Database, n: int) -> None:
    now = datetime.now(UTC)
    with db.session_scope() as session:
        for start in range(0, n, 10000):
            rows = [
                {
                    "uid": str(uuid.uuid4()),
                    "occurred_at": now,
                    "actor_id": 1000 + i % 50,
                    "actor_role": "clerk",
                    "on_behalf_of_id": 5000 + i,
                    "action": "case.step",
                    "resource_type": "case",
                    "resource_id": f"440300-2026-{i:08d}",
                    "channel": "assisted",
                    "service_point": "440303001001",
                    "reason": None,
                    "data": {"step": i % 7, "item": "养老保险关系转移接续", "days": 3},
                    "personal": None,
                    "personal_salt": None,
                    "personal_commitment": "ab" * 32,
                    "format": 2,  # leaves of the current format (docs/ledger.md)
                }
                for i in range(start, min(n, start + 10000))
            ]
            session.execute(insert(Event), rows)


def bench_integration(backend: str) -> float:
    """Events sequenced per second from a backlog, batches of 2000, one transaction each."""
    with _database(backend) as db:
        _fill_events(db, N_EVENTS)
        started = time.perf_counter()
        n = integrator.integrate_all(db, signer=SIGNER, batch_size=2000)
        elapsed = time.perf_counter() - started
        assert n == N_EVENTS
        with db.session_scope() as session:
            assert store.current_size(session) == N_EVENTS
        return n / elapsed


def _fill_leaves(db: Database, n: int) -> bytes:
    """A synthetic tree of n leaves written straight to the tables (fast bulk paths)."""
    frontier = merkle.Frontier()
    chunk = 200_000
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        pg = db.engine.dialect.name == "postgresql"
        if not pg:
            cur.execute("PRAGMA synchronous=OFF")
        for start in range(0, n, chunk):
            leaves = []
            nodes = []
            for i in range(start, min(n, start + chunk)):
                data = i.to_bytes(8, "big")
                h = merkle.leaf_hash(data)
                leaves.append((i, i + 1, h, data))
                for level, index, node in frontier.append(h):
                    if level >= store.STORED_LEVEL:
                        nodes.append((level, index, node))
            if pg:
                with cur.copy(
                    "COPY ledger_leaves (idx, event_id, leaf_hash, data) FROM STDIN"
                ) as copy:
                    for row in leaves:
                        copy.write_row(row)
            else:
                cur.executemany(
                    "INSERT INTO ledger_leaves (idx, event_id, leaf_hash, data) "
                    "VALUES (?, ?, ?, ?)",
                    leaves,
                )
            if nodes:
                params = "%s, %s, %s" if pg else "?, ?, ?"
                cur.executemany(
                    f"INSERT INTO ledger_nodes (level, idx, hash) VALUES ({params})", nodes
                )
            raw.commit()
    finally:
        raw.close()
    root = frontier.root()
    with db.session_scope() as session:
        st = session.get(LedgerState, 1)
        assert st is not None
        st.size, st.root, st.frontier = n, root, frontier.to_bytes()
        if db.engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE ledger_leaves"))
            session.execute(text(f"ANALYZE {LedgerNode.__tablename__}"))
    return root


def bench_proofs(backend: str) -> dict[str, float]:
    """Inclusion-proof latency from the database at N_LEAVES, and verification rate."""
    with _database(backend) as db:
        t0 = time.perf_counter()
        root = _fill_leaves(db, N_LEAVES)
        fill = time.perf_counter() - t0
        rng = random.Random(7)
        indexes = [rng.randrange(N_LEAVES) for _ in range(2000)]
        times = []
        proofs = []
        with db.session_scope() as session:
            for index in indexes[:100]:  # warm the cache
                store.inclusion_proof(session, index=index, size=N_LEAVES)
            for index in indexes:
                s = time.perf_counter()
                proof = store.inclusion_proof(session, index=index, size=N_LEAVES)
                times.append(time.perf_counter() - s)
                proofs.append(proof)
            cons_t = []
            for index in indexes[:500]:
                s = time.perf_counter()
                store.consistency_proof(session, old=index + 1, new=N_LEAVES)
                cons_t.append(time.perf_counter() - s)
        leaves = [merkle.leaf_hash(i.to_bytes(8, "big")) for i in indexes]
        s = time.perf_counter()
        for index, leaf, proof in zip(indexes, leaves, proofs, strict=True):
            merkle.verify_inclusion(leaf, index, N_LEAVES, proof, root)
        verify_rate = len(proofs) / (time.perf_counter() - s)
        times.sort()
        cons_t.sort()
        return {
            "fill_s": fill,
            "incl_median_ms": statistics.median(times) * 1e3,
            "incl_p99_ms": times[int(len(times) * 0.99)] * 1e3,
            "cons_median_ms": statistics.median(cons_t) * 1e3,
            "verify_per_s": verify_rate,
        }


def bench_vs_pymerkle(n: int = 100_000) -> dict[str, float]:
    """Same work in memory with ours and with pymerkle, same run."""
    import pymerkle

    data = [i.to_bytes(8, "big") for i in range(n)]
    s = time.perf_counter()
    hashes = [merkle.leaf_hash(d) for d in data]
    ours_root = merkle.root_from_leaves(hashes)
    ours_build = n / (time.perf_counter() - s)
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    s = time.perf_counter()
    for d in data:
        tree.append_entry(d)
    theirs_root = tree.get_root()
    theirs_build = n / (time.perf_counter() - s)
    assert ours_root == theirs_root
    rng = random.Random(3)
    idx = [rng.randrange(n) for _ in range(2000)]
    s = time.perf_counter()
    ours_p = [merkle.inclusion_proof(hashes, i, n) for i in idx[:200]]
    ours_prove = 200 / (time.perf_counter() - s)
    s = time.perf_counter()
    theirs_p = [tree.prove_inclusion(i + 1, n) for i in idx]
    theirs_prove = len(idx) / (time.perf_counter() - s)
    s = time.perf_counter()
    for i, p in zip(idx[:200], ours_p, strict=True):
        merkle.verify_inclusion(hashes[i], i, n, p, ours_root)
    ours_verify = 200 / (time.perf_counter() - s)
    s = time.perf_counter()
    for i, p in zip(idx, theirs_p, strict=True):
        pymerkle.verify_inclusion(hashes[i], theirs_root, p)
    theirs_verify = len(idx) / (time.perf_counter() - s)
    return {
        "build_ours": ours_build,
        "build_pymerkle": theirs_build,
        "prove_ours_memory": ours_prove,
        "prove_pymerkle": theirs_prove,
        "verify_ours": ours_verify,
        "verify_pymerkle": theirs_verify,
    }


def main() -> None:
    """Run every ledger benchmark and print a Markdown table."""
    backends = ["sqlite"] + (["postgresql"] if _pg_available() else [])
    print("| measure | backend | result | target |")
    print("|---|---|---|---|")
    for backend in backends:
        rate = bench_integration(backend)
        print(f"| integration ({N_EVENTS:,} events) | {backend} | {rate:,.0f} events/s | ≥ 5,000 |")
    for backend in backends:
        r = bench_proofs(backend)
        print(
            f"| inclusion proof at {N_LEAVES:,} leaves | {backend} | median "
            f"{r['incl_median_ms']:.3f} ms, p99 {r['incl_p99_ms']:.3f} ms | ≤ 2 ms |"
        )
        print(
            f"| consistency proof at {N_LEAVES:,} leaves | {backend} | median "
            f"{r['cons_median_ms']:.3f} ms | — |"
        )
        print(
            f"| proof verification (depth {N_LEAVES.bit_length()}) | — | "
            f"{r['verify_per_s']:,.0f} proofs/s | ≥ 20,000 |"
        )
        print(f"| (fill of {N_LEAVES:,} synthetic leaves) | {backend} | {r['fill_s']:.0f} s | — |")
    v = bench_vs_pymerkle()
    for what, unit in (("build", "leaves/s"), ("verify", "proofs/s")):
        ours, theirs = v[f"{what}_ours"], v[f"{what}_pymerkle"]
        print(
            f"| {what} at 100,000 leaves: ours vs pymerkle | memory | {ours:,.0f} vs "
            f"{theirs:,.0f} {unit} (ratio {ours / theirs:.2f}) | — |"
        )
    print(
        f"| inclusion proof at 100,000 leaves: pymerkle in memory | memory | "
        f"{v['prove_pymerkle']:,.0f} proofs/s (ours from the DB: see above) | — |"
    )


if __name__ == "__main__":
    main()
