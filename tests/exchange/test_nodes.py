"""Two nodes exchanging signed messages over real HTTP (two uvicorn servers on loopback).

Node A (广东, the consumer) holds a pension-transfer case; its catalogue says the 参保 record is
provided by node B (四川). The official on A fetches: A signs (RFC 9421, Ed25519) a query with
X-Road-style headers, B checks it against the node directory, its own agreement, answers from
its table and signs the answer with the hash of the request; both log the message by its
hashes (events: the ledger). Then: a tampered body, a replay, an unknown node, a wrong key, a
timestamp outside the window (each refused and recorded by B), and B down (503 on A, the case
unchanged, a retry works).
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select, update
from tests.support import cases_internals as cases
from tests.support import identity_internals as identity
from tests.support.live import _free_port

from tongban.events.models import Event
from tongban.exchange import nodes, remote, wire
from tongban.exchange.models import DataResource, Message
from tongban.exchange.providers import Query
from tongban.platform.config import Settings
from tongban.platform.db import Database, upgrade_database
from tongban.shell.app import create_app
from tongban.shell.cli import load_demo_data

pytestmark = pytest.mark.slow

CONSUMER, PROVIDER = "gd.node", "sc.node"


@dataclass
class Node:
    """One running node."""

    url: str
    database: Database
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread


def _start(data_dir: Path, *, node: str, region: str) -> Node:
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(data_dir / 'node.db').resolve()}"
    upgrade_database(url)
    database = Database(url)
    port = _free_port()
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        node_name=node,
        node_region=region,
        public_base_url=f"http://127.0.0.1:{port}",
    )
    load_demo_data(database, settings=settings)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, database), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the node did not start"
        time.sleep(0.05)
    return Node(f"http://127.0.0.1:{port}", database, settings, server, thread)


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Node]]:
    """A (consumer) and B (provider), each in the other's directory."""
    # The first query wakes B's exchange code up: on a loaded 2-core machine that took more
    # than the 5 s a provider normally gets.
    timeout, remote.TIMEOUT = remote.TIMEOUT, 60.0
    base = tmp_path_factory.mktemp("nodes")
    a = _start(base / "a", node=CONSUMER, region="440300")
    b = _start(base / "b", node=PROVIDER, region="511600")
    with a.database.session_scope() as session:
        nodes.put_node(session, entry=nodes.this_node(b.settings, base_url=b.url))
        session.execute(
            update(DataResource).where(DataResource.code == "RS-YLBX-001").values(endpoint=PROVIDER)
        )
    with b.database.session_scope() as session:
        nodes.put_node(session, entry=nodes.this_node(a.settings, base_url=a.url))
    try:
        yield a, b
    finally:
        remote.TIMEOUT = timeout
        for node in (a, b):
            node.server.should_exit = True
            node.thread.join(timeout=10)
            node.database.dispose()


def _official_token(node: Node) -> str:
    with node.database.session_scope() as session:
        account = identity.find_account_by_username(session, username="official")
        assert account is not None
        return identity.issue_api_token(
            session, account_id=account.id, name="nodes", settings=node.settings
        ).token


_serial = iter(range(1, 10**6))


def _open_case(node: Node) -> str:
    """A pension-transfer case of the demo official's department, accepted."""
    with node.database.session_scope() as session:
        official = identity.find_account_by_username(session, username="official")
        citizen = identity.find_account_by_username(session, username="citizen")
        assert official is not None and citizen is not None
        department = identity.get_department_by_code(session, code=identity.DEMO_DEPARTMENT_CODE)
        moment = datetime.datetime.now(datetime.UTC)
        number = f"440300-20261130-N{next(_serial):011d}"
        session.add(
            cases.Case(
                number=number,
                kind="single",
                item_code="101110001000",
                item_name="企业职工基本养老保险关系转移接续",
                implementation_code="511602-101110001000-01",
                case_type="promise",
                department_id=department.id,
                authority_code=department.code,
                authority_name=department.name,
                authority_region="511602",
                applicant_id=citizen.id,
                applicant_name="王建国",
                filed_by_id=citizen.id,
                filed_by_role="citizen",
                channel="online",
                form_data={},
                state="accepted",
                acceptance_limit=5,
                promised_value=20,
                promised_unit="working_days",
                statutory_value=45,
                statutory_unit="working_days",
                received_at=moment,
                accepted_at=moment,
                acceptance_due=moment.date(),
                missing=[],
            )
        )
    return number


def _actions(node: Node, action: str) -> list[Event]:
    with node.database.session_scope() as session:
        rows = session.scalars(select(Event).where(Event.action == action).order_by(Event.id))
        return list(rows)


def _query(**change: object) -> Query:
    values: dict[str, object] = {
        "resource": "RS-YLBX-001",
        "fields": ("paid_months",),
        "resident_id": "511602195003150119",
        "case_number": "440300-20261130-TEST",
        "purpose": "核验",
        "client": identity.DEMO_DEPARTMENT_CODE,
        "item": "101110001000",
    }
    values.update(change)
    return Query(**values)  # type: ignore[arg-type]


def _httpx(request: wire.Request) -> httpx.Request:
    """A signed request as httpx sends it (the tests send through httpx's client)."""
    return httpx.Request(
        request.method, request.url, content=request.content, headers=request.headers
    )


def _signed(a: Node, b: Node, *, by: Settings | None = None, **kwargs: object) -> httpx.Request:
    """A query from A to B, signed by A (or by the node of the settings `by`)."""
    return _httpx(
        remote.signed_request(
            url=f"{b.url}{remote.QUERY_PATH}",
            query=_query(),
            provider=PROVIDER,
            settings=by or a.settings,
            **kwargs,  # type: ignore[arg-type]
        )
    )


def test_a_fetch_crosses_nodes_signed_both_ways(two_nodes: tuple[Node, Node]) -> None:
    a, b = two_nodes
    number = _open_case(a)
    answer = httpx.post(
        f"{a.url}/api/v1/cases/{number}/data-fetches",
        json={"resource": "RS-YLBX-001", "purpose": "核验参保缴费情况"},
        headers={"Authorization": f"Bearer {_official_token(a)}"},
        timeout=20,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["source"] == PROVIDER and body["found"] is True
    assert body["data"]["paid_months"] == 214 and "account_balance" not in body["data"]
    with a.database.session_scope() as session:
        sent = session.scalar(select(Message).where(Message.message_id == body["message_id"]))
        assert sent is not None and sent.direction == "out" and sent.status == 200
    with b.database.session_scope() as session:
        served = session.scalar(select(Message).where(Message.message_id == body["message_id"]))
        assert served is not None and served.direction == "in"
    # Both logs hold the same hashes, and both went into the ledger as events.
    assert (sent.request_sha256, sent.response_sha256) == (
        served.request_sha256,
        served.response_sha256,
    )
    # A's answered message goes into the ledger with the fetch's event (one event a fetch).
    fetched = _actions(a, "exchange.fetched")[-1].data
    assert (fetched["request_sha256"], fetched["response_sha256"]) == (
        sent.request_sha256,
        sent.response_sha256,
    )
    assert not _actions(a, "exchange.message_sent")
    assert _actions(b, "exchange.message_served")[-1].data["response_sha256"] == (
        served.response_sha256
    )


def _refusal(b: Node) -> str:
    return str(_actions(b, "exchange.message_refused")[-1].data["refusal"])


def test_tampered_replayed_unknown_and_stale_messages_are_refused(
    two_nodes: tuple[Node, Node], tmp_path: Path
) -> None:
    a, b = two_nodes
    # A replay: the same signed message twice.
    good = _signed(a, b)
    with httpx.Client(timeout=20) as client:
        assert client.send(good).status_code == 200
        again = client.send(good)
        assert again.status_code == 409, again.text
        assert again.headers["content-type"].startswith("application/problem+json")
        assert _refusal(b) == "replay"
        # A tampered body (the signature covers its digest).
        signed = _signed(a, b)
        tampered_body = signed.content.replace(b"paid_months", b"account_balance")
        headers = {k: v for k, v in signed.headers.items() if k.lower() != "content-length"}
        tampered = httpx.Request("POST", signed.url, content=tampered_body, headers=headers)
        answer = client.send(tampered)
        assert answer.status_code == 401 and _refusal(b) == "bad-signature"
        # A node the directory does not list, and a listed node's id with another key.
        stranger = Settings(data_dir=tmp_path / "x", database_url="sqlite://", node_name="xx.node")
        unknown = _signed(a, b, by=stranger)
        assert client.send(unknown).status_code == 401 and _refusal(b) == "unknown-node"
        impostor = Settings(data_dir=tmp_path / "y", database_url="sqlite://", node_name=CONSUMER)
        forged = _signed(a, b, by=impostor)
        assert client.send(forged).status_code == 401 and _refusal(b) == "bad-signature"
        # A timestamp outside the window.
        old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
        stale = _signed(a, b, created=old)
        assert client.send(stale).status_code == 401 and _refusal(b) == "outside-window"
        # No signature at all.
        bare = httpx.Request("POST", f"{b.url}{remote.QUERY_PATH}", json={"resource": "x"})
        assert client.send(bare).status_code == 401 and _refusal(b) == "unsigned"


def test_a_provider_down_leaves_the_case_unchanged_and_a_retry_works(
    two_nodes: tuple[Node, Node],
) -> None:
    a, b = two_nodes
    number = _open_case(a)
    token = _official_token(a)
    with a.database.session_scope() as session:
        nodes.put_node(
            session,
            entry={**nodes.this_node(b.settings), "base_url": f"http://127.0.0.1:{_free_port()}"},
        )
    fetch = {"resource": "RS-YLBX-001", "purpose": "核验参保缴费情况"}
    headers = {"Authorization": f"Bearer {token}"}
    down = httpx.post(
        f"{a.url}/api/v1/cases/{number}/data-fetches", json=fetch, headers=headers, timeout=20
    )
    assert down.status_code == 503, down.text
    assert down.headers["content-type"].startswith("application/problem+json")
    assert _actions(a, "exchange.fetch_refused")[-1].data["refusal"] == "provider-unavailable"
    listed = httpx.get(
        f"{a.url}/api/v1/cases/{number}/data-fetches", headers=headers, timeout=20
    ).json()
    assert listed == []
    with a.database.session_scope() as session:
        nodes.put_node(session, entry=nodes.this_node(b.settings, base_url=b.url))
    retry = httpx.post(
        f"{a.url}/api/v1/cases/{number}/data-fetches", json=fetch, headers=headers, timeout=20
    )
    assert retry.status_code == 201, retry.text


# What differs between two answers to two sends of the same kind of query: the message's own
# id, time and signature, the server's clock, and the random pre-session id in the cookie.
_PER_MESSAGE = {"date", "signature", "signature-input", "x-road-id", "x-road-request-hash"}


def _shape(response: httpx.Response) -> tuple[int, list[tuple[str, str]], object]:
    headers = []
    for name, value in response.headers.multi_items():
        if name in _PER_MESSAGE:
            value = "*"
        elif name == "set-cookie":
            value = value.split("=", 1)[0] + "=*;" + value.split(";", 1)[1]
        elif name == "content-digest" or name == "content-length":
            value = "*" if response.status_code == 200 else value
        headers.append((name, value))
    body: object = response.json()
    return response.status_code, sorted(headers), body


def test_the_direct_path_answers_as_the_stack(
    two_nodes: tuple[Node, Node], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each kind of query, genuine and refused, sent once down the stack (FastAPI's route) and
    once in the form the direct path takes (exchange/provider_fast.py): the same status,
    headers and body, and the same events on the provider."""
    from tongban.exchange import provider_fast

    a, b = two_nodes
    url = f"{b.url}{remote.QUERY_PATH}"
    stranger = Settings(data_dir=tmp_path / "x", database_url="sqlite://", node_name="xx.node")
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)

    def tampered() -> httpx.Request:
        signed = _signed(a, b)
        body = signed.content.replace(b"paid_months", b"account_balance")
        headers = {k: v for k, v in signed.headers.items() if k.lower() != "content-length"}
        return httpx.Request("POST", signed.url, content=body, headers=headers)

    def resigned(query: Query) -> httpx.Request:
        return _httpx(
            remote.signed_request(url=url, query=query, provider=PROVIDER, settings=a.settings)
        )

    kinds = {
        "found": lambda: _signed(a, b),
        "not-found": lambda: resigned(_query(resident_id="11010519491231002X")),
        "tampered": tampered,
        "unknown-node": lambda: _signed(a, b, by=stranger),
        "stale": lambda: _signed(a, b, created=old),
        "unsigned": lambda: httpx.Request("POST", url, json={"resource": "x"}),
        "not-agreed": lambda: resigned(_query(fields=("account_balance",))),
        "unknown-service": lambda: resigned(_query(resource="RS-NONE-001")),
        "bad-body": lambda: resigned(_query(resident_id="short")),
        "bad-id": lambda: resigned(_query(resident_id="110105194912310021")),
    }
    taken: list[bool] = []
    real_takes = provider_fast.takes

    def noted(scope: dict[str, object]) -> bool:
        taken.append(real_takes(scope))
        return taken[-1]

    def send(client: httpx.Client, request: httpx.Request, *, direct: bool) -> httpx.Response:
        monkeypatch.setattr(provider_fast, "takes", noted if direct else lambda scope: False)
        # The direct path's form: no gzip asked for (httpx asks by default), no cookie.
        request.headers["accept-encoding"] = "identity"
        return client.send(request)

    with httpx.Client(timeout=20) as client:

        def recorded() -> list[dict[str, object]]:
            strip = ("request_sha256", "response_sha256")
            rows = _actions(b, "exchange.message_refused") + _actions(b, "exchange.message_served")
            rows.sort(key=lambda event: event.id)
            return [{k: v for k, v in e.data.items() if k not in strip} for e in rows]

        for kind, make in kinds.items():
            before = len(recorded())
            stack = send(client, make(), direct=False)
            middle = recorded()
            direct = send(client, make(), direct=True)
            after = recorded()
            assert taken[-1] is True, kind
            assert _shape(direct) == _shape(stack), kind
            # The same events: as many (one, or none for a malformed ID number), alike.
            assert after[len(middle) :] == middle[before:], kind
            assert len(middle) - before == (0 if kind == "bad-id" else 1), kind
        # A replay: the same message sent again, each way.
        first, second = _signed(a, b), _signed(a, b)
        assert send(client, first, direct=False).status_code == 200
        assert send(client, second, direct=True).status_code == 200
        again_stack = send(client, first, direct=False)
        again_direct = send(client, second, direct=True)
        assert again_stack.status_code == 409
        ids = {first.headers["x-road-id"]: "*", second.headers["x-road-id"]: "*"}
        shapes = [_shape(again_direct), _shape(again_stack)]
        for _, _, body in shapes:
            assert isinstance(body, dict)
            for message_id, mark in ids.items():
                body["detail"] = body["detail"].replace(message_id, mark)
        assert shapes[0] == shapes[1]
        # Not the direct path's form: down the stack, even with the path on.
        gzip = _signed(a, b)
        monkeypatch.setattr(provider_fast, "takes", real_takes)
        assert not real_takes(
            {
                "type": "http",
                "method": "POST",
                "path": remote.QUERY_PATH,
                "headers": [(b"content-length", b"10"), (b"accept-encoding", b"gzip")],
            }
        )
        assert client.send(gzip).status_code == 200
