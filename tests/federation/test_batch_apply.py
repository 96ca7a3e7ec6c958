"""A fetched batch applied together (federation/batch.py, cases/received.py) leaves the rows and
events that applying its messages one by one leaves, in the same order — with a refused
message, a duplicate, a replay under another id, bytes that are no message, and a state
change among the transfers, and with records the database refuses (the run falls back to
one by one) — and stores a batch's cases in one INSERT. Two receiving databases of the same
node (same key, directory and test world) take the same bytes, one each way."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tests.cases.conftest import _build_world
from tests.federation.conftest import Federation, Node, build_federation
from tests.support.databases import TestDatabases, hashing_once
from tongban.cases import service as cases
from tongban.cases.models import Case, CaseMaterial, CaseStep, Upload
from tongban.events.models import Event
from tongban.exchange import service as exchange
from tongban.federation import batch, messages, routing
from tongban.federation.models import Incoming, Link, Outgoing


@pytest.fixture
def fed(tmp_path: Path, test_databases: TestDatabases, backend: str) -> Iterator[Federation]:
    made = build_federation(tmp_path, test_databases, backend, "nats://127.0.0.1:1")
    # Sichuan's twin: the same node (settings, key, directory, world) on a database of its own.
    sc = made["sichuan"]
    national = test_databases.create(backend)
    with national.session_scope() as session:
        for node in made.nodes.values():
            exchange.register_node(session, entry=exchange.this_node(node.settings))
        document = exchange.export_directory(session, settings=made.national)
    national.dispose()
    twin = Node("twin", sc.settings, test_databases.create(backend), sc.fed)
    with twin.session() as session:
        exchange.load_directory_document(session, document=document, settings=twin.settings)
    with twin.session() as session, hashing_once():
        twin.world = _build_world(session, twin.settings)
        twin.recorded = twin.world.recorded()
    routing.forget()
    made.nodes["twin"] = twin
    yield made
    made.close()


def _sealed(node: Node, envelope: dict[str, Any], **changes: Any) -> bytes:
    body = {**envelope["body"], **changes.pop("body", {})}
    return messages.seal(
        key=exchange.node_key(node.settings),
        message_id=changes.get("id", envelope["id"]),
        kind=changes.get("kind", envelope["kind"]),
        receiver=changes.get("receiver", envelope["receiver"]),
        body=body,
    )


def _transfers(gd: Node, n: int) -> list[dict[str, Any]]:
    """n cases filed on Guangdong for Sichuan, as the envelopes its worker would publish."""
    for i in range(n):
        gd.file_pension(key=f"batch-{i}")
    return [json.loads(data)["envelope"] for _, _, _, data in gd.worker()._pending()]


def _rows(node: Node) -> dict[str, Any]:
    """What applying left on a node, without row ids, salts and clock readings."""

    def read(session: Session) -> dict[str, Any]:
        numbers = dict(session.execute(select(Case.id, Case.number)).all())
        skip = {"id", "created_at", "updated_at", "added_at"}

        def plain(row: Any) -> dict[str, Any]:
            values = {
                c.key: getattr(row, c.key)
                for c in row.__table__.columns
                if c.key not in skip and c.key != "case_id"
            }
            if hasattr(row, "case_id"):
                values["case"] = numbers[row.case_id]
            return values

        def table(model: Any, *order: Any) -> list[dict[str, Any]]:
            return [plain(r) for r in session.scalars(select(model).order_by(*order))]

        return {
            "cases": table(Case, Case.id),
            "materials": table(CaseMaterial, CaseMaterial.id),
            "steps": table(CaseStep, CaseStep.id),
            "uploads": [
                (u.sha256, u.media_type, u.size, u.pages)
                for u in session.scalars(select(Upload).order_by(Upload.sha256))
            ],
            "links": [
                (r.case_number, r.role, r.peer_node, r.remote_version)
                for r in session.scalars(select(Link).order_by(Link.case_number))
            ],
            "inbox": [
                (r.message_id, r.sender_node, r.kind, r.case_number, r.outcome)
                for r in session.scalars(select(Incoming).order_by(Incoming.message_id))
            ],
            "events": [
                (e.action, e.resource_type, e.resource_id, e.channel, e.data, e.private)
                for e in session.scalars(
                    select(Event).where(Event.action.like("federation.%")).order_by(Event.id)
                )
            ],
        }

    with node.session() as session:
        return read(session)


def _both_ways(
    sc: Node, twin: Node, data: list[bytes]
) -> tuple[list[Any], list[Any], dict[str, Any], dict[str, Any]]:
    with sc.session() as session:
        together = batch.apply_batch(session, batch=data, settings=sc.settings, me=sc.node_id)
    with twin.session() as session:
        alone = batch.one_by_one(session, batch=data, settings=twin.settings, me=twin.node_id)
    return together, alone, _rows(sc), _rows(twin)


def test_a_batch_with_refusals_and_duplicates_leaves_what_one_by_one_leaves(
    fed: Federation,
) -> None:
    gd, sc, twin = fed["guangdong"], fed["sichuan"], fed["twin"]
    first, second, third = _transfers(gd, 3)
    unknown = dict(
        first["body"]["case"],
        number=first["body"]["case"]["number"] + "U",
        implementation_code="NO-SUCH-IMPL",
    )
    data = [
        _sealed(gd, first),
        _sealed(gd, second),
        _sealed(gd, second, body={"case": unknown}, id="x:unknown"),  # refused in the middle
        _sealed(gd, first),  # the same message again: a duplicate
        _sealed(gd, second, id="x:replay"),  # the same case under another id: applied, no copy
        b"not a message",  # refused on opening
        _sealed(gd, first, kind="case.state", id="x:state"),  # applied alone: refused here
        _sealed(gd, third),
    ]
    together, alone, rows, expected = _both_ways(sc, twin, data)
    assert together == alone
    assert [o.outcome if o else None for o in together] == [
        "applied",
        "applied",
        None,
        "duplicate",
        "applied",
        None,
        None,
        "applied",
    ]
    assert rows == expected
    assert len(rows["cases"]) == 3 and len(rows["materials"]) == 6
    assert [e[0] for e in rows["events"]] == [
        "federation.case_received",
        "federation.case_received",
        "federation.message_refused",
        "federation.message_refused",
        "federation.message_refused",
        "federation.case_received",
    ]
    # Applying the whole batch again changes nothing but the refusals' record.
    with sc.session() as session:
        again = batch.apply_batch(session, batch=data, settings=sc.settings, me=sc.node_id)
    assert [o.outcome if o else None for o in again] == [
        "duplicate",
        "duplicate",
        None,
        "duplicate",
        "duplicate",
        None,
        None,
        "duplicate",
    ]
    after = _rows(sc)
    assert {k: v for k, v in after.items() if k != "events"} == {
        k: v for k, v in rows.items() if k != "events"
    }


def test_a_record_the_database_or_cases_refuse_falls_back_to_one_by_one(
    fed: Federation,
) -> None:
    gd, sc, twin = fed["guangdong"], fed["sichuan"], fed["twin"]
    first, second, third = _transfers(gd, 3)
    nameless = dict(second["body"]["case"], item_name=None)  # NOT NULL: the database refuses
    altered = dict(third["body"]["blobs"])
    altered[next(iter(altered))] = "AAAA"  # bytes that do not match their SHA-256
    data = [
        _sealed(gd, first),
        _sealed(gd, second, body={"case": nameless}),
        _sealed(gd, third, body={"blobs": altered}),
        _sealed(gd, third, id="x:good-third"),
    ]
    together, alone, rows, expected = _both_ways(sc, twin, data)
    assert together == alone
    assert [o.outcome if o else None for o in together] == ["applied", None, None, "applied"]
    assert rows == expected
    assert sorted(c["number"] for c in rows["cases"]) == sorted(
        [first["body"]["case"]["number"], third["body"]["case"]["number"]]
    )
    refused = [e[4]["refusal"] for e in rows["events"] if e[0] == "federation.message_refused"]
    assert refused == ["malformed", "malformed"]


def test_a_batch_of_transfers_is_stored_with_one_insert_per_table(fed: Federation) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    data = [_sealed(gd, envelope) for envelope in _transfers(gd, 6)]
    inserts: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CASES"):
            inserts.append(statement)

    engine = sc.database.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with sc.session() as session:
            outcomes = batch.apply_batch(session, batch=data, settings=sc.settings, me=sc.node_id)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [o.outcome for o in outcomes if o] == ["applied"] * 6
    assert len(inserts) == 1  # one by one: six


def test_received_together_or_alone_a_joint_case_gets_the_same_steps(fed: Federation) -> None:
    """cases.receive_cases makes the rows receive_case makes, co-handling steps (联办) too."""
    gd = fed["guangdong"]
    [envelope] = _transfers(gd, 1)
    record = dict(envelope["body"]["case"], implementation_code="TEST-FUND-440305")
    blobs = {sha: base64.b64decode(data) for sha, data in envelope["body"]["blobs"].items()}
    alone, together = record["number"] + "A", record["number"] + "T"
    with gd.session() as session:
        offer = cases.find_offer(session, implementation="TEST-FUND-440305", item=None, region=None)
        assert offer.co_handlers, "the fixture's joint implementation has co-handlers"
        cases.receive_case(
            session,
            record={**record, "number": alone},
            offer=offer,
            blobs=blobs,
            settings=gd.settings,
        )
        cases.receive_cases(
            session,
            received=[({**record, "number": together}, offer, blobs)],
            settings=gd.settings,
        )
    rows = _rows(gd)

    def of(number: str, table: str) -> list[dict[str, Any]]:
        key = "number" if table == "cases" else "case"
        return [
            {k: v for k, v in r.items() if k not in ("number", "case")}
            for r in rows[table]
            if r[key] == number
        ]

    for table in ("cases", "materials", "steps"):
        assert of(alone, table) == of(together, table), table
    assert len(of(together, "steps")) == len(offer.co_handlers)


def test_the_routed_record_is_the_case_as_stored(fed: Federation) -> None:
    """The routing hook builds the transfer from the case in hand: the same record as the
    case read back from the database."""
    gd = fed["guangdong"]
    number = gd.file_pension()
    with gd.session() as session:
        body = session.scalars(select(Outgoing.body)).one()
        assert body["case"] == cases.case_record(session, number=number)
