"""Fixtures of the federation tests: a real NATS server with JetStream on a free loopback port
(stopped by the fixture), and nodes — each its own database (on the backend under test), data
directory, node key and settings — listed in a directory the national node signed."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.cases.conftest import World, _build_world
from tests.support import cases_internals as cases
from tests.support.databases import TestDatabases, hashing_once
from tongban.cases.schemas import ActionIn, CaseCreate
from tongban.exchange import service as exchange
from tongban.federation import routing
from tongban.federation import service as federation
from tongban.federation.nats_server import NatsServer, free_port
from tongban.platform.config import Settings
from tongban.platform.db import Database

_streams = itertools.count(1)


@pytest.fixture(autouse=True)
def _hooks() -> None:
    """Cases calls federation as the shell sets it up at app start."""
    from tongban.cases import service as cases_service

    cases_service.before_act(federation.guard)
    cases_service.on_changed(federation.changed)
    cases_service.on_forward(federation.forward)
    cases_service.on_view(federation.view)


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A nats-server with JetStream for this module's tests."""
    server = NatsServer(port=free_port(), store_dir=tmp_path_factory.mktemp("nats")).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Node:
    """One node of a test federation."""

    name: str
    settings: Settings
    database: Database
    fed: federation.FederationSettings
    world: World | None = None
    recorded: dict[str, Any] = field(default_factory=dict)
    workers: list[federation.Worker] = field(default_factory=list)

    @property
    def node_id(self) -> str:
        return self.settings.node_name

    def session(self) -> Any:
        return self.database.session_scope()

    def worker(self) -> federation.Worker:
        made = federation.Worker(self.database, self.settings, self.fed)
        self.workers.append(made)
        return made

    def actor(self, session: Session, who: str) -> Any:
        """The Actor of a test account, its rows read in this session."""
        return World.reload(session, self.recorded).actor(who)

    def file_pension(self, *, applicant: str = "李建国", key: str | None = None) -> str:
        """The clerk files the migrant's pension transfer (Sichuan's authority); its number."""
        from tests.cases.conftest import MIGRANT_ID, PNG_BYTES

        assert self.world is not None
        with self.session() as session:
            clerk = self.actor(session, "clerk")
            upload = cases.upload(session, actor=clerk, data=PNG_BYTES, settings=self.settings)
            body = {
                "implementation": "TEST-PENSION-511602",
                "form": {"transfer_reason": "跨省就业"},
                "materials": [
                    {"name": "居民身份证", "sha256": upload.sha256},
                    {"name": "转移申请表", "sha256": upload.sha256},
                ],
                "applicant": {
                    "resident_id": MIGRANT_ID,
                    "name": applicant,
                    "identity_confirmed": True,
                },
            }
            case, _ = cases.submit(
                session,
                actor=clerk,
                data=CaseCreate.model_validate(body),
                settings=self.settings,
                idempotency_key=key,
            )
            return str(case.number)

    def act(self, who: str, number: str, action: str, **body: Any) -> Any:
        """Take an action through the cases service."""
        assert self.world is not None
        with self.session() as session:
            version = cases.get_case(session, number=number).version
            case = cases.act(
                session,
                actor=self.actor(session, who),
                number=number,
                action=action,
                body=ActionIn(version=version, **body),
                settings=self.settings,
            )
            return case.state

    def case(self, number: str) -> dict[str, Any]:
        """The case's row as a dict (state, decision, version …)."""
        with self.session() as session:
            row = cases.get_case(session, number=number)
            return {
                "state": row.state,
                "decision": row.decision,
                "authority_region": row.authority_region,
                "implementation_code": row.implementation_code,
                "materials": sorted(m.sha256 for m in row.materials),
                "closed_at": row.closed_at,
                "department_id": row.department_id,
            }

    def count(self, session_query: Any) -> Any:
        with self.session() as session:
            return session_query(session)


def _settings(tmp: Path, name: str, region: str, national_key: str = "") -> Settings:
    return Settings(
        data_dir=tmp / name,
        node_name=f"{name}.tongban.test",
        node_region=region,
        public_base_url=f"https://{name}.example",
        exchange_national_key=national_key,
    )


@dataclass
class Federation:
    """The national node's key and the provincial nodes, by name."""

    national: Settings
    nodes: dict[str, Node]

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def close(self) -> None:
        for node in self.nodes.values():
            node.database.dispose()


def build_federation(
    tmp: Path,
    databases: TestDatabases,
    backend: str,
    nats_url: str,
    *,
    provinces: dict[str, str] | None = None,
    sqlite_nodes: tuple[str, ...] = (),
) -> Federation:
    """A national node that signed a directory of the provinces; each province loaded it and
    holds the cases test world (regions, departments, accounts, the fixture catalog); the
    nodes named in `sqlite_nodes` (stations) run on SQLite whatever the backend under test."""
    provinces = provinces or {"guangdong": "440000", "sichuan": "510000"}
    national = _settings(tmp, "national", "100000")
    national_db = databases.create(backend)
    stream = f"FED_TEST_{next(_streams)}_{tmp.name[-8:].replace('-', '_')}"
    fed = federation.FederationSettings(
        nats_url=nats_url, stream=stream, subject_prefix=f"t{stream.lower()}", poll_seconds=0.2
    )
    key = exchange.node_key(national).public_b64
    nodes = {
        name: Node(
            name,
            _settings(tmp, name, region, key),
            databases.create("sqlite" if name in sqlite_nodes else backend),
            fed,
        )
        for name, region in provinces.items()
    }
    with national_db.session_scope() as session:
        for node in nodes.values():
            exchange.register_node(session, entry=exchange.this_node(node.settings))
        document = exchange.export_directory(session, settings=national)
    national_db.dispose()
    for node in nodes.values():
        with node.session() as session:
            exchange.load_directory_document(session, document=document, settings=node.settings)
        with node.session() as session, hashing_once():
            node.world = _build_world(session, node.settings)
            node.recorded = node.world.recorded()
    routing.forget()
    return Federation(national, nodes)


def pump(*workers: federation.Worker, rounds: int = 20, until: Any = None) -> None:
    """Run the workers (publish, receive) until nothing moves or `until()` holds."""

    async def go() -> None:
        for worker in workers:
            await worker.connect()
        try:
            for _ in range(rounds):
                moved = 0
                for worker in workers:
                    moved += await worker.publish_pending()
                    moved += await worker.receive(timeout=0.3)
                if until is not None and until():
                    return
                if not moved and until is None:
                    return
        finally:
            for worker in workers:
                await worker.close()

    asyncio.run(go())


def rows(node: Node, query: Any) -> Any:
    with node.session() as session:
        assert isinstance(session, Session)
        return query(session)
