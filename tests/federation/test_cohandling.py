"""Joint handling (联办) with a co-handler on a third node (issue #18).

Filed in Guangdong for the 广安 pension office (Sichuan), co-handled by a Xiamen office that
only the Fujian node knows: Sichuan accepts, the step goes to Fujian as `case.cohandle`, the
Xiamen official co-handles it there (the only action that copy takes), the result comes back
as `case.cohandled` and completes the step on Sichuan, which may then decide; the decision
flows to the filing node's copy. A result sent by a node that does not serve the step's
region, or a step sent by a node that does not handle the case or to one that does not serve
the co-handler's region, is refused with an event; a result sent twice applies once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.cases.conftest import MIGRANT_ID, PASSWORD
from tests.federation.conftest import Federation, Node, build_federation, pump
from tests.support import cases_internals as cases
from tests.support import identity_internals as identity
from tests.support.databases import TestDatabases
from tongban.cases import service as cases_service
from tongban.cases.schemas import ActionIn, CaseCreate
from tongban.catalog import service as catalog
from tongban.events.models import Event
from tongban.exchange import service as exchange
from tongban.federation import messages
from tongban.federation.models import Link, Outgoing
from tongban.federation.nats_server import NatsServer
from tongban.identity.callers import actor_for
from tongban.platform.errors import Conflict
from tongban.shell.app import create_app

XIAMEN = ("11350200MB0000011", "厦门市社会保险中心", "350200")
PROVINCES = {"guangdong": "440000", "sichuan": "510000", "fujian": "350000"}


def _joint() -> dict[str, Any]:
    code = identity.make_uscc(body=XIAMEN[0])
    return {
        "version": 1,
        "items": [
            {
                "code": "TEST-JOINT-PENSION",
                "name": "养老保险关系联办转移",
                "type": "公共服务",
                "department": "人力资源社会保障部门",
                "legal_basis": "《中华人民共和国社会保险法》",
                "service_objects": ["自然人"],
                "cross_province": True,
                "implementations": [
                    {
                        "code": "TEST-JOINT-511602",
                        "region": "511602",
                        "authority": {
                            "name": "广安市广安区社会保险事务中心",
                            "code": "11511602MB00000012",
                        },
                        "power_source": 1,
                        "exercise_level": "县",
                        "case_type": "联办件",
                        "statutory_limit": {"value": 30, "unit": "natural_days"},
                        "promised_limit": {"value": 20, "unit": "natural_days"},
                        "visits": 0,
                        "online_depth": 5,
                        "tongban_range": "跨省",
                        "co_handlers": [{"name": XIAMEN[1], "code": code, "region": XIAMEN[2]}],
                    }
                ],
            }
        ],
    }


@pytest.fixture
def fed(
    tmp_path: Path, test_databases: TestDatabases, backend: str, nats_server: NatsServer
) -> Iterator[Federation]:
    made = build_federation(tmp_path, test_databases, backend, nats_server.url, provinces=PROVINCES)
    for node in made.nodes.values():
        with node.session() as session:
            catalog.import_document(session, data=_joint(), source="tests/federation")
    # The Xiamen office and its official exist on Fujian only.
    fj = made["fujian"]
    with fj.session() as session:
        code = identity.make_uscc(body=XIAMEN[0])
        identity.ensure_department(session, code=code, name=XIAMEN[1], region_code=XIAMEN[2])
        identity.create_account(
            session,
            username="t-xm-official",
            password=PASSWORD,
            role="official",
            display_name="xm",
            settings=fj.settings,
            department_code=code,
            region_code=XIAMEN[2],
        )
    yield made
    made.close()


def _xiamen_act(fj: Node, number: str, action: str, **body: Any) -> str:
    with fj.session() as session:
        account = identity.find_account_by_username(session, username="t-xm-official")
        assert account is not None
        version = cases.get_case(session, number=number).version
        case = cases.act(
            session,
            actor=actor_for(account),
            number=number,
            action=action,
            body=ActionIn(version=version, **body),
            settings=fj.settings,
        )
        return str(case.state)


def _file(gd: Node) -> str:
    with gd.session() as session:
        clerk = gd.actor(session, "clerk")
        body = {
            "implementation": "TEST-JOINT-511602",
            "form": {},
            "materials": [],
            "applicant": {"resident_id": MIGRANT_ID, "name": "李建国", "identity_confirmed": True},
        }
        case, _ = cases.submit(
            session, actor=clerk, data=CaseCreate.model_validate(body), settings=gd.settings
        )
        return str(case.number)


def _events(node: Node, action: str) -> list[dict[str, Any]]:
    with node.session() as session:
        return [
            dict(d)
            for d in session.scalars(
                select(Event.data).where(Event.action == action).order_by(Event.id)
            )
        ]


def _accepted_and_sent(fed: Federation) -> tuple[str, Any, Any, Any]:
    gd, sc = fed["guangdong"], fed["sichuan"]
    number = _file(gd)
    w_gd, w_sc, w_fj = gd.worker(), sc.worker(), fed["fujian"].worker()
    pump(w_gd, w_sc)
    with sc.session() as session:
        [step] = cases.get_case(session, number=number).steps
        assert (step.region_code, step.department_id) == ("350200", None)
    sc.act("official", number, "accept")
    return number, w_gd, w_sc, w_fj


def test_a_co_handler_on_a_third_node_does_its_step_there(fed: Federation) -> None:
    gd, sc, fj = fed["guangdong"], fed["sichuan"], fed["fujian"]
    number, w_gd, w_sc, w_fj = _accepted_and_sent(fed)
    with pytest.raises(Conflict, match="Co-handling steps"):
        sc.act("official", number, "approve", decision_text="准予转移")

    # The step reaches Fujian: a co-handling copy its official reads and co-handles.
    pump(w_sc, w_fj, w_gd, until=lambda: _has(fj, number))
    with fj.session() as session:
        link = session.get(Link, number)
        assert link is not None and (link.role, link.peer_node) == ("cohandler", sc.node_id)
        [step] = cases.get_case(session, number=number).steps
        assert step.department_id is not None and step.done_at is None
    assert fj.case(number)["state"] == "accepted"
    # The Xiamen official finds it in their co-handling queue and reads it.
    with fj.session() as session:
        account = identity.find_account_by_username(session, username="t-xm-official")
        assert account is not None
        token = identity.issue_api_token(
            session, account_id=account.id, name="tests", settings=fj.settings
        ).token
    with TestClient(create_app(fj.settings, fj.database)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        queue = client.get("/api/v1/queue", params={"view": "co-handling"}, headers=headers)
        assert queue.status_code == 200, queue.text
        assert [r["number"] for r in queue.json()["items"]] == [number]
        read = client.get(f"/api/v1/cases/{number}", headers=headers)
        assert read.status_code == 200 and read.json()["state"] == "accepted"
    # Fujian's own pension official (that office is in Fujian's identity too) may not decide
    # there: the copy takes the co-handling step only.
    with pytest.raises(Conflict, match="co-handling step"):
        fj.act("official", number, "approve", decision_text="越权")
    _xiamen_act(fj, number, "co-handle", note="已核对参保记录")

    # The result completes the step on Sichuan, which then decides; Guangdong's copy follows.
    pump(w_fj, w_sc, until=lambda: _done(sc, number))
    [co] = [e for e in _events(sc, "case.co-handle")]
    assert co["relayed_from"] == fj.node_id and co["step"] == identity.make_uscc(body=XIAMEN[0])
    with sc.session() as session:
        [step] = cases.get_case(session, number=number).steps
        assert step.note == "已核对参保记录"
    sc.act("official", number, "approve", decision_text="准予转移")
    pump(w_sc, w_gd, until=lambda: gd.case(number)["state"] == "approved")
    assert gd.case(number)["decision"] == "approved"

    # Sent again (a republish): applied once.
    with fj.session() as session:
        row = session.scalars(select(Outgoing).where(Outgoing.kind == "case.cohandled")).one()
        data = _seal(fj, row)
    again = sc.worker().apply_one(data)
    assert again is not None and again.outcome == "duplicate"
    assert len(_events(sc, "case.co-handle")) == 1


def test_co_handling_messages_from_the_wrong_node_are_refused(fed: Federation) -> None:
    gd, sc, fj = fed["guangdong"], fed["sichuan"], fed["fujian"]
    number, _, w_sc, w_fj = _accepted_and_sent(fed)
    code = identity.make_uscc(body=XIAMEN[0])
    body = {
        "case": {"number": number},
        "steps": [{"authority_code": code, "region_code": "350200", "note": "伪造"}],
    }
    # Guangdong (which does not serve Xiamen) claims the step done.
    forged = _sealed(gd, f"{number}:cohandled:forged", "case.cohandled", to=sc, body=body)
    assert sc.worker().apply_one(forged) is None
    refusals = [e["refusal"] for e in _events(sc, "federation.message_refused")]
    assert refusals == ["forged_region"]
    assert not _done(sc, number)
    with pytest.raises(Conflict, match="Co-handling steps"):
        sc.act("official", number, "approve", decision_text="准予转移")
    # A step sent by a node that does not handle the case, or to a node that does not serve
    # the co-handler's region, is refused too.
    with sc.session() as session:
        row = session.scalars(select(Outgoing).where(Outgoing.kind == "case.cohandle")).one()
        body = json.loads(json.dumps(row.body))
    from_gd = _sealed(gd, f"{number}:cohandle:forged", "case.cohandle", to=fj, body=body)
    to_gd = _sealed(sc, f"{number}:cohandle:astray", "case.cohandle", to=gd, body=body)
    assert fj.worker().apply_one(from_gd) is None
    assert gd.worker().apply_one(to_gd) is None
    assert [e["refusal"] for e in _events(fj, "federation.message_refused")] == ["forged_region"]
    assert [e["refusal"] for e in _events(gd, "federation.message_refused")] == ["not_ours"]
    assert not _has(fj, number)
    # The genuine step still goes to Fujian, the node serving its region.
    pump(w_sc, w_fj, until=lambda: _has(fj, number))
    assert _has(fj, number)


def _has(node: Node, number: str) -> bool:
    with node.session() as session:
        return bool(cases_service.has_case(session, number=number))


def _done(node: Node, number: str) -> bool:
    with node.session() as session:
        return all(s.done_at is not None for s in cases.get_case(session, number=number).steps)


def _seal(node: Node, row: Outgoing) -> bytes:
    return messages.seal(
        key=exchange.node_key(node.settings),
        message_id=row.message_id,
        kind=row.kind,
        receiver=row.target_node,
        body=json.loads(json.dumps(row.body)),
    )


def _sealed(by: Node, message_id: str, kind: str, *, to: Node, body: dict[str, Any]) -> bytes:
    """A message `by` signs for `to` (genuine or not, as the test makes it)."""
    return messages.seal(
        key=exchange.node_key(by.settings),
        message_id=message_id,
        kind=kind,
        receiver=to.node_id,
        body=body,
    )
