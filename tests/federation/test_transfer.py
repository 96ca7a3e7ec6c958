"""The migrant worker's story across two nodes: the Guangdong clerk files a pension transfer
for Sichuan's authority; the case travels over NATS JetStream as a signed message and lives on
the Sichuan node; the Guangdong copy follows every change; the case API reads it on both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tests.federation.conftest import Federation, build_federation, pump
from tests.support.databases import TestDatabases
from tongban.events.models import Event
from tongban.federation.models import Incoming, Link, Outgoing
from tongban.federation.nats_server import NatsServer
from tongban.platform.errors import Conflict
from tongban.shell.app import create_app


@pytest.fixture
def fed(
    tmp_path: Path, test_databases: TestDatabases, backend: str, nats_server: NatsServer
) -> Iterator[Federation]:
    made = build_federation(tmp_path, test_databases, backend, nats_server.url)
    yield made
    made.close()


def _actions(node, number: str) -> list[str]:  # type: ignore[no-untyped-def]
    with node.session() as session:
        return list(
            session.scalars(
                select(Event.action).where(Event.resource_id == number).order_by(Event.id)
            )
        )


def test_case_filed_in_guangdong_lives_in_sichuan_and_is_followed(fed: Federation) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    number = gd.file_pension()
    assert number.startswith("440000-")
    with gd.session() as session:
        link = session.get(Link, number)
        assert link is not None and (link.role, link.peer_node) == ("copy", sc.node_id)
        assert session.scalar(select(func.count()).select_from(Outgoing)) == 1

    sender, receiver = gd.worker(), sc.worker()
    pump(sender, receiver)
    # On the authority's node: same number, same implementation, the materials' bytes there,
    # in the Sichuan department's queue (its own department id), with a link back.
    there = sc.case(number)
    here = gd.case(number)
    assert there["state"] == "received"
    assert there["implementation_code"] == "TEST-PENSION-511602"
    assert there["materials"] == here["materials"]
    blob = sc.settings.data_dir / "blobs" / there["materials"][0][:2] / there["materials"][0]
    assert blob.exists()
    assert there["department_id"] == sc.world.departments["pension"].id  # type: ignore[union-attr]
    assert "federation.case_received" in _actions(sc, number)

    # The copy takes no actions (the Guangdong node's own official could see it): it is
    # handled in Sichuan.
    with pytest.raises(Conflict, match="node of its competent authority"):
        gd.act("official", number, "accept")

    # The official in Sichuan accepts, then approves and completes: the copy follows each.
    assert sc.act("official", number, "accept") == "accepted"
    pump(receiver, sender)
    assert gd.case(number)["state"] == "accepted"
    sc.act("official", number, "approve", decision_text="准予转移")
    sc.act("official", number, "complete")
    pump(receiver, sender)
    copy = gd.case(number)
    assert copy["state"] == "completed" and copy["decision"] == "approved"
    assert copy["closed_at"] is not None
    followed = [a for a in _actions(gd, number) if a == "federation.case_followed"]
    assert len(followed) == 3

    # The unchanged case API reads the number on both nodes.
    assert gd.world is not None and sc.world is not None
    for node, who in ((gd, "clerk"), (sc, "official")):
        app = create_app(node.settings, node.database)
        with TestClient(app) as client:
            r = client.get(f"/api/v1/cases/{number}", headers=node.world.h(who))  # type: ignore[union-attr]
            assert r.status_code == 200, r.text
            assert r.json()["state"] == "completed"


def test_redelivery_and_republish_apply_once(fed: Federation) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    number = gd.file_pension()
    pump(gd.worker(), sc.worker())
    # The outbox forgets it sent the message (a crash before marking it): published again,
    # JetStream keeps one (Nats-Msg-Id), and were it delivered twice the inbox applies it once.
    with gd.session() as session:
        session.execute(update(Outgoing).values(sent_at=None))
    worker = gd.worker()
    pump(worker, sc.worker())
    with sc.session() as session:
        assert session.scalar(select(func.count()).select_from(Incoming)) == 1
    assert worker.apply_one is not None
    # Applying the very bytes again (a redelivery after a lost ack) changes nothing.
    with gd.session() as session:
        row = session.scalars(select(Outgoing)).one()
        assert row.sent_at is not None
    assert _actions(sc, number).count("federation.case_received") == 1
