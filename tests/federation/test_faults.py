"""Faults, bounded in time and on loopback: the receiving node killed (-9) mid-transfer, NATS
restarted between publishes, an edge station filing 1,000 cases while its link is down.
Afterwards every acknowledged case exists exactly once on its authority's node, every tracking
copy matches, and every node's ledger verifies."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from nats import connect as nats_connect
from sqlalchemy import func, select, text

from tests.federation.conftest import Federation, Node, build_federation, pump
from tests.support.databases import TestDatabases
from tongban.cases.models import Case
from tongban.federation.models import Incoming, Link, Outgoing
from tongban.federation.nats_server import NatsServer, free_port
from tongban.ledger import service as ledger
from tongban.shell.app import create_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A NATS server of this test's own (the tests restart it)."""
    server = NatsServer(port=free_port(), store_dir=tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


def _federation(
    tmp_path: Path, test_databases: TestDatabases, backend: str, url: str, **kw: object
) -> Iterator[Federation]:
    made = build_federation(tmp_path, test_databases, backend, url, **kw)  # type: ignore[arg-type]
    try:
        yield made
    finally:
        made.close()


def _count(node: Node, model: type, *where: object) -> int:
    with node.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _database_url(node: Node) -> str:
    """The URL a separate process opens this node's database with (PostgreSQL: its schema)."""
    url = node.database.engine.url
    if url.get_backend_name() == "sqlite":
        return url.render_as_string(hide_password=False)
    with node.database.engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def _spawn_worker(node: Node) -> subprocess.Popen[bytes]:
    config = {
        "url": _database_url(node),
        "settings": {
            "data_dir": str(node.settings.data_dir),
            "node_name": node.settings.node_name,
            "node_region": node.settings.node_region,
            "exchange_national_key": node.settings.exchange_national_key,
            "database_url": _database_url(node),
        },
        # Small batches (one transaction each): the kill lands between and inside them.
        "fed": {**node.fed.model_dump(), "batch": 5},
    }
    return subprocess.Popen(  # the worker as `serve` runs it, in a process we can kill -9
        [sys.executable, "-m", "tests.federation.receiver_process", json.dumps(config)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(condition: object, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def _leaf_ready(url: str, *, domain: str, seconds: float) -> bool:
    """Whether the hub's JetStream answers through the leaf node at `url` (a leaf node takes
    a moment to connect to its hub; under load, more than a second)."""

    async def probe() -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                nc = await nats_connect(url, connect_timeout=2, allow_reconnect=False)
            except Exception:  # not listening yet
                await asyncio.sleep(0.2)
                continue
            try:
                await nc.jetstream(domain=domain).account_info()
                return True
            except Exception:  # no route to the hub's JetStream yet
                await asyncio.sleep(0.2)
            finally:
                await nc.close()
        return False

    return asyncio.run(probe())


def _check_consistent(gd: Node, sc: Node, numbers: list[str]) -> None:
    """Every case once on Sichuan, its copy's state equal on the filing node, ledgers verify."""
    with sc.session() as session:
        found = session.scalars(select(Case.number).where(Case.number.in_(numbers))).all()
    assert sorted(found) == sorted(numbers)  # once each (the number is unique)
    assert _count(sc, Incoming) == _count(sc, Incoming, Incoming.outcome == "applied")
    with sc.session() as session:
        there = dict(session.execute(select(Case.number, Case.state)).all())
    with gd.session() as session:
        here = dict(
            session.execute(select(Case.number, Case.state).where(Case.number.in_(numbers))).all()
        )
    assert here == {n: there[n] for n in numbers}
    for node in (gd, sc):
        settings = node.settings.model_copy(update={"ledger_settle_seconds": 0.0})
        with node.session() as session:
            while ledger.integrate_pending(session, settings=settings):
                pass
        verifier = ledger.Verifier.parse(ledger.public_key(settings))
        with TestClient(create_app(settings, node.database)) as client:
            result = ledger.verify_log(
                "http://testserver",
                verifier,
                state_path=node.settings.data_dir / "verifier.json",
                http=client,
            )
        assert result.checkpoint.size > 0


def test_receiver_killed_mid_transfer_applies_each_case_once(
    tmp_path: Path, test_databases: TestDatabases, backend: str, nats: NatsServer
) -> None:
    fed = next(_federation(tmp_path, test_databases, backend, nats.url))
    try:
        gd, sc = fed["guangdong"], fed["sichuan"]
        # Enough that the kill lands mid-way: a batch of 5 applies in a few milliseconds now.
        numbers = [gd.file_pension(key=f"k{i}") for i in range(300)]
        pump(gd.worker())  # published: every one acknowledged by JetStream
        assert _count(gd, Outgoing, Outgoing.sent_at.is_(None)) == 0
        first = _spawn_worker(sc)
        try:
            assert _wait(lambda: _count(sc, Incoming) >= 10, seconds=60)
        finally:
            first.kill()  # kill -9, mid-way through the batch
            first.wait(timeout=10)
        partial = _count(sc, Incoming)
        assert partial < len(numbers), "the receiver finished before it was killed"
        second = _spawn_worker(sc)
        try:
            assert _wait(lambda: _count(sc, Incoming) >= len(numbers), seconds=90)
        finally:
            second.kill()
            second.wait(timeout=10)
        assert _count(sc, Incoming) == len(numbers)
        # Sichuan decides a few; the copies follow.
        for number in numbers[:5]:
            sc.act("official", number, "accept")
        pump(sc.worker(), gd.worker())
        _check_consistent(gd, sc, numbers)
    finally:
        fed.close()


def test_nats_restarted_between_publishes(
    tmp_path: Path, test_databases: TestDatabases, backend: str, nats: NatsServer
) -> None:
    fed = next(_federation(tmp_path, test_databases, backend, nats.url))
    try:
        gd, sc = fed["guangdong"], fed["sichuan"]
        before = [gd.file_pension(key=f"a{i}") for i in range(10)]
        pump(gd.worker())
        nats.stop()  # the stream is on disk: what was acknowledged survives
        after = [gd.file_pension(key=f"b{i}") for i in range(10)]
        nats.start()
        pump(gd.worker(), sc.worker(), until=lambda: _count(sc, Incoming) >= 20, rounds=50)
        for number in (before[0], after[0]):
            sc.act("official", number, "accept")
        pump(sc.worker(), gd.worker())
        _check_consistent(gd, sc, before + after)
    finally:
        fed.close()


def test_edge_station_files_1000_cases_offline_then_syncs(
    tmp_path: Path, test_databases: TestDatabases, backend: str, nats: NatsServer
) -> None:
    hub = NatsServer(port=free_port(), store_dir=tmp_path / "hub", leaf_port=free_port()).start()
    provinces = {"guangdong": "440000", "sichuan": "510000", "edge": "440305001000"}
    fed = next(
        _federation(
            tmp_path,
            test_databases,
            backend,
            hub.url,
            provinces=provinces,
            sqlite_nodes=("edge",),  # a station runs on SQLite; Sichuan on the backend
        )
    )
    leaf = NatsServer(port=free_port(), store_dir=tmp_path / "leaf", leaf_of=hub.leaf_url)
    try:
        edge, sc = fed["edge"], fed["sichuan"]
        edge.fed = edge.fed.model_copy(update={"nats_url": leaf.url, "js_domain": "hub"})
        sc.fed = sc.fed.model_copy(update={"js_domain": "hub"})
        # The link is down (the station's leaf node is not even running): it files anyway.
        numbers = [edge.file_pension(key=f"e{i}") for i in range(1000)]
        assert all(n.startswith("440305001000-") for n in numbers)
        assert _count(edge, Outgoing, Outgoing.sent_at.is_(None)) == 1000
        # A receipt prints offline (the case, its number and QR code are the station's own).
        assert edge.world is not None
        with TestClient(create_app(edge.settings, edge.database)) as client:
            r = client.get(f"/api/v1/cases/{numbers[0]}/receipt.pdf", headers=edge.world.h("clerk"))
            assert r.status_code == 200 and r.content[:4] == b"%PDF"
        leaf.start()
        assert _leaf_ready(leaf.url, domain="hub", seconds=30)  # the leaf connects to the hub
        started = time.monotonic()
        pump(
            edge.worker(),
            sc.worker(),
            until=lambda: _count(sc, Incoming) >= 1000,
            rounds=200,
        )
        took = time.monotonic() - started
        assert _count(sc, Incoming) == 1000, f"synced {_count(sc, Incoming)} in {took:.1f}s"
        with sc.session() as session:
            links = session.scalar(
                select(func.count()).select_from(Link).where(Link.peer_node == edge.node_id)
            )
        assert links == 1000
        sc.act("official", numbers[0], "accept")
        pump(sc.worker(), edge.worker())
        _check_consistent(edge, sc, numbers)
    finally:
        fed.close()
        leaf.stop()
        hub.stop()
