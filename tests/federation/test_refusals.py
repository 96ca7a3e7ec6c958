"""Messages a node refuses — signed by a key the directory does not list, a case forged for a
region the sender does not serve, an implementation the receiver does not know, a state change
from a node that does not handle the case — are not applied, and are logged, counted and
recorded; a replayed message changes nothing. Applied directly (no NATS needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from tests.federation.conftest import Federation, Node, build_federation
from tests.support.databases import TestDatabases
from tongban.events.models import Event
from tongban.exchange import service as exchange
from tongban.exchange.signing import public_b64
from tongban.federation import messages
from tongban.federation.inbound import REFUSED
from tongban.federation.models import Incoming


@pytest.fixture
def fed(tmp_path: Path, test_databases: TestDatabases, backend: str) -> Iterator[Federation]:
    made = build_federation(tmp_path, test_databases, backend, "nats://127.0.0.1:1")
    yield made
    made.close()


def _transfer(gd: Node) -> tuple[str, dict[str, Any]]:
    """A case filed on Guangdong, and the envelope (opened) its worker would publish."""
    number = gd.file_pension()
    [(_, _, _, data)] = gd.worker()._pending()
    return number, json.loads(data)["envelope"]


def _sealed(node: Node, envelope: dict[str, Any], **changes: Any) -> bytes:
    body = {**envelope["body"], **changes.pop("body", {})}
    return messages.seal(
        key=exchange.node_key(node.settings),
        message_id=changes.get("id", envelope["id"]),
        kind=changes.get("kind", envelope["kind"]),
        receiver=changes.get("receiver", envelope["receiver"]),
        body=body,
    )


def _refusals(node: Node) -> list[str]:
    with node.session() as session:
        return [
            str(data["refusal"])
            for data in session.scalars(
                select(Event.data).where(Event.action == "federation.message_refused")
            )
        ]


def test_a_valid_transfer_applies_once_and_a_replay_changes_nothing(fed: Federation) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    number, envelope = _transfer(gd)
    data = _sealed(gd, envelope)
    first = sc.worker().apply_one(data)
    assert first is not None and first.outcome == "applied"
    again = sc.worker().apply_one(data)
    assert again is not None and again.outcome == "duplicate"
    # The same case under a new message id (a replay dressed up) is not made twice either.
    other = sc.worker().apply_one(_sealed(gd, envelope, id=f"{number}:again"))
    assert other is not None and other.outcome == "applied"
    with sc.session() as session:
        received = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.action == "federation.case_received", Event.resource_id == number)
        )
        assert received == 1
        assert session.scalar(select(func.count()).select_from(Incoming)) == 2


def test_unknown_key_forged_region_unknown_implementation_are_refused(fed: Federation) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    number, envelope = _transfer(gd)
    before = REFUSED.labels("unknown_key")._value.get()

    # A key the directory does not list for Guangdong (stolen name, own key).
    stranger = exchange.NodeKey(
        node_id=gd.node_id,
        key_id=f"{gd.node_id}#k9",
        private=(private := Ed25519PrivateKey.generate()),
        public_b64=public_b64(private.public_key()),
    )
    forged = messages.seal(
        key=stranger,
        message_id=envelope["id"],
        kind=envelope["kind"],
        receiver=envelope["receiver"],
        body=envelope["body"],
    )
    assert sc.worker().apply_one(forged) is None

    # Altered after signing.
    document = json.loads(_sealed(gd, envelope))
    document["envelope"]["body"]["case"]["authority_name"] = "别的机关"
    assert sc.worker().apply_one(messages.canonical(document)) is None

    # Guangdong claims a case numbered in Sichuan's region.
    case = dict(envelope["body"]["case"], number="510000-" + number.split("-", 1)[1])
    assert sc.worker().apply_one(_sealed(gd, envelope, body={"case": case}, id="x:1")) is None

    # An implementation Sichuan's catalog does not have.
    case = dict(envelope["body"]["case"], implementation_code="NO-SUCH-IMPL")
    assert sc.worker().apply_one(_sealed(gd, envelope, body={"case": case}, id="x:2")) is None

    # A state change for a case Sichuan does not follow.
    assert sc.worker().apply_one(_sealed(gd, envelope, kind="case.state", id="x:3")) is None

    # Meant for another node.
    assert sc.worker().apply_one(_sealed(gd, envelope, receiver="other", id="x:4")) is None

    assert _refusals(sc) == [
        "unknown_key",
        "bad_signature",
        "forged_region",
        "unknown_implementation",
        "unknown_case",
        "wrong_receiver",
    ]
    assert REFUSED.labels("unknown_key")._value.get() == before + 1
    with sc.session() as session:
        assert session.scalar(select(func.count()).select_from(Incoming)) == 0
    # Nothing was made: the genuine message still applies.
    done = sc.worker().apply_one(_sealed(gd, envelope))
    assert done is not None and done.outcome == "applied"


def test_a_state_change_from_a_node_that_does_not_handle_the_case(fed: Federation) -> None:
    gd = fed["guangdong"]
    number, envelope = _transfer(gd)
    # Guangdong itself sends a "completed" for its own copy, as if it were the authority.
    state = {"number": number, "state": "completed", "version": 9, "decision": "approved"}
    assert (
        gd.worker().apply_one(
            _sealed(gd, envelope, kind="case.state", receiver=gd.node_id, body={"case": state})
        )
        is None
    )
    assert gd.case(number)["state"] == "received"
    assert _refusals(gd) == ["forged_region"]
