"""The applicant side acting on the node where they are (issue #18): the Guangdong clerk
withdraws a case that lives on the Sichuan node; the withdrawal travels as a signed
`case.request` over NATS JetStream, Sichuan applies it once through its state machine and
answers; the copy follows. A request after the decision is refused there and the copy says so;
a replayed request changes nothing; forged ones are refused with an event. The actions a copy
cannot send stay a translated 409 on pages and a problem+json on the API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.cases.conftest import page_login
from tests.federation.conftest import Federation, Node, build_federation, pump
from tests.support import cases_internals
from tests.support.databases import TestDatabases
from tongban.cases import service as cases_service
from tongban.cases.schemas import ActionIn
from tongban.events.models import Event
from tongban.exchange import service as exchange
from tongban.federation import messages
from tongban.federation.models import Outgoing
from tongban.federation.nats_server import NatsServer
from tongban.federation.request_models import Request
from tongban.platform.errors import Conflict, Forbidden
from tongban.shell.app import create_app


@pytest.fixture
def fed(
    tmp_path: Path, test_databases: TestDatabases, backend: str, nats_server: NatsServer
) -> Iterator[Federation]:
    made = build_federation(tmp_path, test_databases, backend, nats_server.url)
    yield made
    made.close()


def _events(node: Node, number: str, action: str) -> list[dict[str, Any]]:
    with node.session() as session:
        return [
            dict(data)
            for data in session.scalars(
                select(Event.data)
                .where(Event.resource_id == number, Event.action == action)
                .order_by(Event.id)
            )
        ]


def _requests(node: Node, number: str) -> list[tuple[str, str, str | None]]:
    with node.session() as session:
        return [
            (r.action, r.state, r.answer)
            for r in session.scalars(
                select(Request).where(Request.case_number == number).order_by(Request.created_at)
            )
        ]


def _refusals(node: Node) -> list[str]:
    with node.session() as session:
        return [
            str(data["refusal"])
            for data in session.scalars(
                select(Event.data).where(Event.action == "federation.message_refused")
            )
        ]


def _transferred(fed: Federation) -> tuple[str, Any, Any]:
    gd, sc = fed["guangdong"], fed["sichuan"]
    number = gd.file_pension()
    sender, receiver = gd.worker(), sc.worker()
    pump(sender, receiver)
    assert sc.case(number)["state"] == "received"
    return number, sender, receiver


def test_withdrawal_on_the_filing_node_reaches_the_authority_and_the_copy(
    fed: Federation,
) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    number, sender, receiver = _transferred(fed)

    # The clerk withdraws on Guangdong: the copy stays as it is, the request waits.
    assert gd.act("clerk", number, "withdraw", reason="申请人不再办理") == "received"
    assert _requests(gd, number) == [("withdraw", "pending", None)]
    assert _events(gd, number, "federation.request_sent") == [
        {"action": "withdraw", "to_node": sc.node_id}
    ]
    # A second withdrawal while the first waits is refused (nothing queued twice).
    with pytest.raises(Conflict, match="waiting for its answer"):
        gd.act("clerk", number, "withdraw")

    pump(sender, receiver, until=lambda: gd.case(number)["state"] == "withdrawn")
    pump(sender, receiver, until=lambda: _requests(gd, number)[0][1] != "pending")
    # Sichuan withdrew it through its own state machine, recorded as relayed from Guangdong.
    there = sc.case(number)
    assert there["state"] == "withdrawn" and there["closed_at"] is not None
    [withdrawn] = _events(sc, number, "case.withdraw")
    assert withdrawn["relayed_from"] == gd.node_id and withdrawn["to"] == "withdrawn"
    assert _events(sc, number, "federation.request_received") == [
        {"from_node": gd.node_id, "action": "withdraw", "outcome": "applied", "state": "withdrawn"}
    ]
    # The copy follows it, and the request is answered.
    assert gd.case(number)["state"] == "withdrawn"
    assert _requests(gd, number) == [("withdraw", "applied", "withdrawn")]
    assert [e["outcome"] for e in _events(gd, number, "federation.request_answered")] == ["applied"]

    # The unchanged case API on Guangdong tells the same story (state and timeline).
    assert gd.world is not None
    with TestClient(create_app(gd.settings, gd.database)) as client:
        read = client.get(f"/api/v1/cases/{number}", headers=gd.world.h("clerk")).json()
    assert read["state"] == "withdrawn"
    steps = [e["action"] for e in read["timeline"]]
    assert steps.index("federation.request_sent") < steps.index("federation.request_answered")

    # Sent again (a republish after a lost acknowledgement): applied once, nothing changes.
    with gd.session() as session:
        data = _sealed_request(gd, session)
    again = sc.worker().apply_one(data)
    assert again is not None and again.outcome == "duplicate"
    assert len(_events(sc, number, "case.withdraw")) == 1


def _sealed_request(gd: Node, session: Any, **changes: Any) -> bytes:
    """The request Guangdong queued, sealed again with changes (id, body, key...)."""
    row = session.scalars(select(Outgoing).where(Outgoing.kind == "case.request")).one()
    body = json.loads(json.dumps(row.body))
    for key, value in changes.pop("body", {}).items():
        body[key] = value
    return messages.seal(
        key=changes.pop("key", None) or exchange.node_key(gd.settings),
        message_id=changes.get("id", row.message_id),
        kind=changes.get("kind", row.kind),
        receiver=changes.get("receiver", row.target_node),
        body=body,
    )


def test_a_withdrawal_after_the_decision_is_refused_there_and_the_copy_says_so(
    fed: Federation,
) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    number, sender, receiver = _transferred(fed)
    # The clerk withdraws on Guangdong while, on Sichuan, the official has already decided
    # (the copy did not know yet).
    assert gd.act("clerk", number, "withdraw") == "received"
    sc.act("official", number, "accept")
    sc.act("official", number, "approve", decision_text="准予转移")
    pump(sender, receiver, until=lambda: _requests(gd, number)[0][1] != "pending")
    pump(sender, receiver, until=lambda: gd.case(number)["state"] == "approved")
    assert sc.case(number)["state"] == "approved"
    assert _requests(gd, number) == [("withdraw", "refused", "not_allowed:approved")]
    [answered] = _events(gd, number, "federation.request_answered")
    assert answered["outcome"] == "refused" and answered["code"] == "not_allowed"
    assert gd.case(number)["state"] == "approved"

    # The case page on Guangdong says where the case is handled and what became of the
    # request (in Chinese); nothing more to withdraw is offered.
    page = page_login(create_app(gd.settings, gd.database), "t-clerk").get(f"/cases/{number}")
    assert page.status_code == 200, page.text
    assert "由有权机关所在节点办理" in page.text
    assert sc.node_id in page.text
    assert "有权机关所在节点未予办理" in page.text
    assert f"/cases/{number}/act/withdraw" not in page.text


def test_forged_requests_are_refused_with_an_event(fed: Federation) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    number, _, _ = _transferred(fed)
    gd.act("clerk", number, "withdraw")
    with gd.session() as session:
        genuine = _sealed_request(gd, session)
        # Guangdong asks for an authority's action (only the applicant's side is relayed).
        approve = _sealed_request(
            gd, session, id=f"{number}:rx1", body={"request": {"action": "approve"}}
        )
        # A request for a case Sichuan does not handle.
        other = "440000-20260101-AAAAAAAAAAAA"
        unknown = _sealed_request(gd, session, id=f"{other}:rx2", body={"case": {"number": other}})
        # Sichuan's own key, as if Sichuan had filed the case (a node may only ask for the
        # cases it numbered and sent).
        forged = _sealed_request(
            gd, session, key=exchange.node_key(sc.settings), id=f"{number}:rx3"
        )
    worker = sc.worker()
    for data in (approve, unknown, forged):
        assert worker.apply_one(data) is None
    assert _refusals(sc) == ["not_applicant", "unknown_case", "forged_region"]
    assert sc.case(number)["state"] == "received"
    assert _events(sc, number, "case.withdraw") == []
    # The genuine request still applies, once.
    done = worker.apply_one(genuine)
    assert done is not None and done.outcome == "applied"
    again = worker.apply_one(genuine)
    assert again is not None and again.outcome == "duplicate"
    assert sc.case(number)["state"] == "withdrawn"
    assert len(_events(sc, number, "case.withdraw")) == 1


def test_an_action_a_copy_cannot_send_is_a_translated_409(fed: Federation) -> None:
    gd = fed["guangdong"]
    number, _, _ = _transferred(fed)
    assert gd.world is not None
    app = create_app(gd.settings, gd.database)
    with TestClient(app) as client:
        # The API: a clear problem+json, the node that handles the case in `errors`.
        version = client.get(f"/api/v1/cases/{number}", headers=gd.world.h("official")).json()[
            "version"
        ]
        r = client.post(
            f"/api/v1/cases/{number}/actions/accept",
            json={"version": version},
            headers=gd.world.h("official"),
        )
        assert r.status_code == 409, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert "node of its competent authority" in problem["detail"]
        assert problem["errors"] == [{"field": "node", "message": fed["sichuan"].node_id}]
    # The page: the official's accept form posted on the copy gets the message in Chinese.
    browser = page_login(app, "t-official")
    case_page = browser.get(f"/cases/{number}")
    assert "由有权机关所在节点办理" in case_page.text
    assert f"/cases/{number}/act/accept" not in case_page.text  # not offered on a copy
    form = browser.get(f"/cases/{number}/act/accept").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    r = browser.post(
        f"/cases/{number}/act/accept",
        data={"csrf_token": token.group(1), "version": str(version)},
        follow_redirects=False,
    )
    assert r.status_code == 409
    assert "本节点保存的是随之更新的副本" in r.text
    assert "node of its competent authority" not in r.text
    with gd.session() as session:
        assert session.scalar(select(Request.message_id)) is None


def test_only_the_applicant_sides_actions_are_applied_when_relayed(fed: Federation) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    number, _, _ = _transferred(fed)
    with sc.session() as session:
        # The cases service itself, behind federation's own check.
        with pytest.raises(Forbidden, match="not the applicant's"):
            cases_service.relayed_action(
                session,
                number=number,
                action="approve",
                body={},
                from_node=gd.node_id,
                settings=sc.settings,
            )
        version = cases_internals.get_case(session, number=number).version
        with pytest.raises(Forbidden, match="applicant's side"):
            cases_internals.act(
                session,
                actor=sc.actor(session, "clerk"),
                number=number,
                action="accept",
                body=ActionIn(version=version),
                settings=sc.settings,
                relayed_from=gd.node_id,
            )
    assert sc.case(number)["state"] == "received"


def test_the_clerk_withdraws_on_the_copys_page_and_sees_it_waiting(fed: Federation) -> None:
    gd, sc = fed["guangdong"], fed["sichuan"]
    number, sender, receiver = _transferred(fed)
    browser = page_login(create_app(gd.settings, gd.database), "t-clerk")
    page = browser.get(f"/cases/{number}")
    assert f"/cases/{number}/act/withdraw" in page.text  # the one action a copy sends on
    form = browser.get(f"/cases/{number}/act/withdraw").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    version = re.search(r'name="version" value="(\d+)"', form)
    assert token is not None and version is not None
    done = browser.post(
        f"/cases/{number}/act/withdraw",
        data={"csrf_token": token.group(1), "version": version.group(1), "reason": "不办了"},
    )
    assert done.status_code == 200, done.text
    assert "已发送至办理本件的有权机关所在节点" in done.text  # the notice
    assert "已发送至有权机关所在节点，等待答复" in done.text
    assert f"/cases/{number}/act/withdraw" not in done.text  # no second one while it waits
    assert gd.case(number)["state"] == "received"
    pump(sender, receiver, until=lambda: gd.case(number)["state"] == "withdrawn")
    pump(sender, receiver, until=lambda: _requests(gd, number)[0][1] != "pending")
    page = browser.get(f"/cases/{number}")
    assert "有权机关所在节点已办理" in page.text
    assert sc.case(number)["state"] == "withdrawn"


def test_papers_asked_for_are_supplied_on_the_filing_node(fed: Federation) -> None:
    from tests.cases.conftest import pdf_bytes

    gd, sc = fed["guangdong"], fed["sichuan"]
    number, sender, receiver = _transferred(fed)
    # Sichuan asks for two things (补正, item by item); the copy follows the items.
    sc.act("official", number, "request-supplement", missing=["户口簿", "其他证明材料"])
    pump(receiver, sender, until=lambda: gd.case(number)["state"] == "supplement_requested")
    with gd.session() as session:
        items = {
            i.name: (i.id, i.state)
            for i in cases_internals.get_case(session, number=number).supplement_items
        }
        assert {name: state for name, (_, state) in items.items()} == {
            "户口簿": "requested",
            "其他证明材料": "requested",
        }
        clerk = gd.actor(session, "clerk")
        paper = cases_internals.upload(
            session, actor=clerk, data=pdf_bytes(2), settings=gd.settings
        ).sha256
    # The clerk answers on Guangdong, a file for each (an explanation alone would wait for
    # the official to accept it, as on one node).
    answers = [
        {"item": items["户口簿"][0], "files": [paper]},
        {"item": items["其他证明材料"][0], "files": [paper], "explanation": "见附件"},
    ]
    assert gd.act("clerk", number, "supplement", answers=answers) == "supplement_requested"
    assert _requests(gd, number) == [("supplement", "pending", None)]
    pump(sender, receiver, until=lambda: gd.case(number)["state"] == "received")
    pump(sender, receiver, until=lambda: _requests(gd, number)[0][1] != "pending")
    # On Sichuan the same items are answered through its own action; the file is there.
    there = sc.case(number)
    assert there["state"] == "received" and paper in there["materials"]
    assert (sc.settings.data_dir / "blobs" / paper[:2] / paper).exists()
    [supplied] = _events(sc, number, "case.supplement")
    assert supplied["relayed_from"] == gd.node_id
    with sc.session() as session:
        case = cases_internals.get_case(session, number=number)
        assert {i.name: (i.state, i.explanation) for i in case.supplement_items} == {
            "户口簿": ("answered", None),
            "其他证明材料": ("answered", "见附件"),
        }
        assert [m.added_by_id for m in case.materials if m.sha256 == paper] == [None, None]
    assert _requests(gd, number) == [("supplement", "applied", "received")]
    with gd.session() as session:
        states = {
            i.name: i.state
            for i in cases_internals.get_case(session, number=number).supplement_items
        }
        assert states == {"户口簿": "answered", "其他证明材料": "answered"}
