"""Bundles (一件事一次办) and joint handling (联办) across nodes (issue #18).

A bundle filed on Guangdong whose parts have authorities on two nodes: the Sichuan part is
transferred to Sichuan and followed like a single case, the Guangdong part is handled where it
was filed; the bundle stays on Guangdong, shows each part's progress, and completes by its own
rule once both parts are done — whichever finishes last. A withdrawal of the bundle withdraws
the local part here and sends the remote part's withdrawal to its node. A joint case keeps its
co-handling steps on the authority's node (from that node's catalog)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.cases.conftest import MIGRANT_ID, PNG_BYTES, page_login
from tests.federation.conftest import Federation, Node, build_federation, pump
from tests.support import cases_internals as cases
from tests.support.databases import TestDatabases
from tongban.cases import service as cases_service
from tongban.cases.schemas import ActionIn, CaseCreate
from tongban.catalog import service as catalog
from tongban.events.models import Event
from tongban.federation.models import Link
from tongban.federation.nats_server import NatsServer
from tongban.platform.errors import Conflict
from tongban.shell.app import create_app

# A bundle of the fixture catalog's pension transfer (decided in Sichuan) and household
# registration proof (decided in Shenzhen, Guangdong).
MOVE = {
    "version": 1,
    "items": [],
    "bundles": [
        {
            "code": "BUNDLE-MOVE-TEST",
            "name": "跨省迁居一件事",
            "region": "440305",
            "promised_limit": {"value": 10, "unit": "working_days"},
            "components": ["TEST-PENSION-511602", "TEST-HUJI-440305"],
        }
    ],
}


@pytest.fixture
def fed(
    tmp_path: Path, test_databases: TestDatabases, backend: str, nats_server: NatsServer
) -> Iterator[Federation]:
    made = build_federation(tmp_path, test_databases, backend, nats_server.url)
    for node in made.nodes.values():
        with node.session() as session:
            catalog.import_document(session, data=MOVE, source="tests/federation")
    yield made
    made.close()


def _file_bundle(gd: Node) -> tuple[str, str, str]:
    """The Guangdong clerk files the bundle; its number and its two parts' numbers."""
    with gd.session() as session:
        clerk = gd.actor(session, "clerk")
        upload = cases.upload(session, actor=clerk, data=PNG_BYTES, settings=gd.settings)
        body = {
            "bundle": "BUNDLE-MOVE-TEST",
            "form": {"transfer_reason": "跨省就业"},
            "materials": [
                {"name": "居民身份证", "sha256": upload.sha256},
                {"name": "转移申请表", "sha256": upload.sha256},
            ],
            "applicant": {"resident_id": MIGRANT_ID, "name": "李建国", "identity_confirmed": True},
        }
        case, _ = cases.submit(
            session, actor=clerk, data=CaseCreate.model_validate(body), settings=gd.settings
        )
        number = str(case.number)
    return number, f"{number}-01", f"{number}-02"


def _decide(node: Node, official: str, number: str) -> None:
    node.act(official, number, "accept")
    node.act(official, number, "approve", decision_text="准予办理")
    node.act(official, number, "complete")


def _settled(node: Node, number: str) -> list[dict[str, Any]]:
    with node.session() as session:
        return [
            dict(d)
            for d in session.scalars(
                select(Event.data).where(
                    Event.resource_id == number, Event.action == "case.bundle_settled"
                )
            )
        ]


def test_a_bundle_with_parts_on_two_nodes_completes_when_both_are_done(fed: Federation) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    bundle, pension, huji = _file_bundle(gd)
    with gd.session() as session:
        # Only the Sichuan part is routed; the bundle and the local part stay here.
        assert session.get(Link, bundle) is None and session.get(Link, huji) is None
        link = session.get(Link, pension)
        assert link is not None and (link.role, link.peer_node) == ("copy", sc.node_id)
    sender, receiver = gd.worker(), sc.worker()
    pump(sender, receiver)
    there = sc.case(pension)
    assert there["state"] == "received"
    assert there["department_id"] == sc.world.departments["pension"].id  # type: ignore[union-attr]
    with sc.session() as session:
        assert not cases_service.has_case(session, number=bundle)
        assert not cases_service.has_case(session, number=huji)

    # The local part first: the bundle waits for the other.
    _decide(gd, "huji_official", huji)
    assert gd.case(bundle)["state"] == "in_progress"
    # The bundle's page on Guangdong shows both parts, the remote one as handled there.
    page = page_login(create_app(gd.settings, gd.database), "t-clerk").get(f"/cases/{bundle}")
    assert page.status_code == 200, page.text
    assert pension in page.text and huji in page.text
    assert "由有权机关所在节点办理" in page.text

    # Sichuan decides its part; when the copy follows it to completed the bundle completes.
    sc.act("official", pension, "accept")
    pump(receiver, sender)
    assert gd.case(pension)["state"] == "accepted"
    assert gd.case(bundle)["state"] == "in_progress"
    sc.act("official", pension, "approve", decision_text="准予转移")
    sc.act("official", pension, "complete")
    pump(receiver, sender, until=lambda: gd.case(pension)["state"] == "completed")
    copy = gd.case(bundle)
    assert copy["state"] == "completed" and copy["closed_at"] is not None
    [settled] = _settled(gd, bundle)
    assert settled["sub_cases"] == {
        pension: ["completed", "approved"],
        huji: ["completed", "approved"],
    }


def test_withdrawing_a_bundle_withdraws_each_part_where_it_is_handled(fed: Federation) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    bundle, pension, huji = _file_bundle(gd)
    sender, receiver = gd.worker(), sc.worker()
    pump(sender, receiver)
    with gd.session() as session:
        version = cases.get_case(session, number=bundle).version
        cases.act(
            session,
            actor=gd.actor(session, "clerk"),
            number=bundle,
            action="withdraw",
            body=ActionIn(version=version, reason="不再办理"),
            settings=gd.settings,
        )
    # The local part is withdrawn at once; the remote one waits for its node.
    assert gd.case(huji)["state"] == "withdrawn"
    assert gd.case(pension)["state"] == "received"
    assert gd.case(bundle)["state"] == "in_progress"
    pump(sender, receiver, until=lambda: gd.case(pension)["state"] == "withdrawn")
    assert sc.case(pension)["state"] == "withdrawn"
    assert gd.case(bundle)["state"] == "withdrawn"


def test_a_joint_case_keeps_its_co_handling_steps_on_the_authority_node(
    fed: Federation,
) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    # Filed in Sichuan for the Shenzhen fund centre, co-handled by 广安's fund office.
    with sc.session() as session:
        clerk = sc.actor(session, "clerk")
        body = {
            "implementation": "TEST-FUND-440305",
            "form": {},
            "materials": [],
            "applicant": {"resident_id": MIGRANT_ID, "name": "李建国", "identity_confirmed": True},
        }
        case, _ = cases.submit(
            session, actor=clerk, data=CaseCreate.model_validate(body), settings=sc.settings
        )
        number = str(case.number)
    sender, receiver = sc.worker(), gd.worker()
    pump(sender, receiver)
    with gd.session() as session:
        steps = cases.get_case(session, number=number).steps
        assert [(s.authority_code, s.department_id) for s in steps] == [
            ("11511602MB00000025", gd.world.departments["fund_co"].id)  # type: ignore[union-attr]
        ]
    gd.act("fund_official", number, "accept")
    with pytest.raises(Conflict, match="Co-handling steps"):
        gd.act("fund_official", number, "approve", decision_text="准予转移")
    gd.act("co_official", number, "co-handle", note="已核对")
    gd.act("fund_official", number, "approve", decision_text="准予转移")
    pump(receiver, sender, until=lambda: sc.case(number)["state"] == "approved")
    assert sc.case(number)["decision"] == "approved"
