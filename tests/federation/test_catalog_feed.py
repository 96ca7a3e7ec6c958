"""The national basic catalog flows from the national node to a province and a station: over a
real NATS JetStream (the station behind a leaf node) and over real HTTP (ETag, 304), applied
exactly once per version, refused when forged, and the nodes keep serving from their copy when
the national node is away. On SQLite and PostgreSQL (the station always on SQLite)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.cases.conftest import _build_world
from tests.federation.conftest import Node
from tests.support.databases import TestDatabases, hashing_once
from tongban.catalog import service as catalog
from tongban.catalog.models import BasicItem, CatalogRevision, Implementation
from tongban.events.models import Event
from tongban.exchange import service as exchange
from tongban.federation import catalog_feed, config, routing
from tongban.federation import service as federation
from tongban.federation.catalog_feed import CatalogFeed
from tongban.federation.catalog_models import AppliedCatalog
from tongban.federation.messages import canonical
from tongban.federation.nats_server import NatsServer, free_port
from tongban.platform.config import Settings
from tongban.shell.app import create_app

PENSION = "TEST-PENSION-TRANSFER"
NEW_NAME = "企业职工基本养老保险关系跨省转移接续"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """The hub's nats-server (JetStream, domain `hub`, a leaf node port)."""
    server = NatsServer(
        port=free_port(), store_dir=tmp_path_factory.mktemp("hub"), leaf_port=free_port()
    ).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Catalogs:
    """A national node, Guangdong, and a station (440305001000) on SQLite."""

    national: Node
    nodes: dict[str, Node]

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def feed(self, name: str) -> CatalogFeed:
        node = self.national if name == "national" else self.nodes[name]
        return CatalogFeed(node.database, node.settings, node.fed)


def _settings(tmp: Path, name: str, region: str, key: str = "") -> Settings:
    return Settings(
        data_dir=tmp / name,
        node_name=f"{name}.tongban.test",
        node_region=region,
        public_base_url=f"https://{name}.example",
        exchange_national_key=key,
    )


@pytest.fixture
def cats(
    tmp_path: Path,
    test_databases: TestDatabases,
    backend: str,
    hub: NatsServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Catalogs]:
    """Every node holds the fixture catalog and the directory the national node signed."""
    suffix = tmp_path.name[-8:].replace("-", "_")
    fed = federation.FederationSettings(
        nats_url=hub.url,
        js_domain="hub",
        catalog_stream=f"CAT_{suffix}",
        catalog_subject=f"tcat.{suffix}",
        catalog_poll_seconds=0.1,
    )
    national_settings = _settings(tmp_path, "national", "100000")
    key = exchange.node_key(national_settings).public_b64
    national_settings = national_settings.model_copy(update={"exchange_national_key": key})
    national = Node(
        "national",
        national_settings,
        test_databases.create(backend),
        fed.model_copy(update={"role": "national"}),
    )
    nodes = {
        "guangdong": Node(
            "guangdong",
            _settings(tmp_path, "guangdong", "440000", key),
            test_databases.create(backend),
            fed,
        ),
        "edge": Node(
            "edge",
            _settings(tmp_path, "edge", "440305001000", key),
            test_databases.create("sqlite"),
            fed.model_copy(update={"role": "edge"}),
        ),
    }
    for node in (national, *nodes.values()):
        with node.session() as session, hashing_once():
            node.world = _build_world(session, node.settings)
            node.recorded = node.world.recorded()
    with national.session() as session:
        for node in nodes.values():
            exchange.register_node(session, entry=exchange.this_node(node.settings))
        document = exchange.export_directory(session, settings=national.settings)
    for node in (national, *nodes.values()):
        with node.session() as session:
            exchange.load_directory_document(session, document=document, settings=node.settings)
    routing.forget()
    yield Catalogs(national, nodes)
    for node in (national, *nodes.values()):
        node.database.dispose()


def run_feeds(*feeds: CatalogFeed, until: Callable[[], bool], seconds: float = 20.0) -> None:
    """Run publish/receive rounds of the feeds until `until()` holds (bounded in time)."""

    async def go() -> None:
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                for feed in feeds:
                    try:  # as the feed's own loop: a failed round reconnects at the next
                        if feed.nc is None:
                            await feed.connect()
                        await (feed.publish() if feed.national else feed.receive())
                    except Exception:
                        await feed.close()
                if await asyncio.to_thread(until):
                    return
                await asyncio.sleep(0.05)
            raise AssertionError("the catalog did not arrive in time")
        finally:
            for feed in feeds:
                await feed.close()

    asyncio.run(go())


def held(node: Node) -> int | None:
    with node.session() as session:
        return catalog_feed.applied_version(session)


def item(node: Node, code: str) -> BasicItem:
    with node.session() as session:
        row = session.scalar(select(BasicItem).where(BasicItem.code == code))
        assert row is not None
        session.expunge(row)
        return row


def change_nationally(cats: Catalogs) -> None:
    """The national operator imports a renamed item and a new one, and withdraws one."""
    with cats.national.session() as session:
        catalog.import_document(
            session,
            data={
                "version": 1,
                "items": [
                    {
                        "code": PENSION,
                        "name": NEW_NAME,
                        "type": "公共服务",
                        "department": "人力资源社会保障部门",
                        "legal_basis": "《城镇企业职工基本养老保险关系转移接续暂行办法》",
                        "service_objects": ["自然人"],
                        "cross_province": True,
                    },
                    {
                        "code": "TEST-NATIONAL-NEW",
                        "name": "退役军人优待证申领",
                        "type": "行政确认",
                        "department": "退役军人事务部门",
                        "legal_basis": "《中华人民共和国退役军人保障法》",
                        "service_objects": ["自然人"],
                    },
                ],
            },
            source="national change",
        )
        catalog.withdraw_item(session, code="TEST-NOT-OFFERED")


def names(node: Node, q: str) -> set[str]:
    with node.session() as session:
        hits, _ = catalog.search_items(session, q=q)
        return {h.code for h in hits}


def test_a_national_change_reaches_a_province_and_a_station_offline_at_the_time(
    cats: Catalogs, hub: NatsServer, tmp_path: Path
) -> None:
    gd, edge = cats["guangdong"], cats["edge"]
    leaf = NatsServer(port=free_port(), store_dir=tmp_path / "leaf", leaf_of=hub.leaf_url)
    edge.fed = edge.fed.model_copy(update={"nats_url": leaf.url})
    with gd.session() as session:
        impl_before = session.scalar(
            select(Implementation.digest).where(Implementation.code == "TEST-PENSION-511602")
        )
    try:
        leaf.start()
        national, gd_feed = cats.feed("national"), cats.feed("guangdong")
        run_feeds(national, gd_feed, cats.feed("edge"), until=lambda: held(edge) == 1 == held(gd))
        leaf.stop()  # the station's link goes down

        change_nationally(cats)
        run_feeds(national, gd_feed, until=lambda: held(gd) == 2)
        assert item(gd, PENSION).name == NEW_NAME
        assert item(gd, "TEST-NATIONAL-NEW").name == "退役军人优待证申领"
        # Withdrawn: kept (implementations refer to it), no longer offered by search.
        assert item(gd, "TEST-NOT-OFFERED").withdrawn_at is not None
        assert "TEST-NOT-OFFERED" not in names(gd, "职业资格证书核验")
        # The province's own implementation is untouched.
        with gd.session() as session:
            impl_after = session.scalar(
                select(Implementation.digest).where(Implementation.code == "TEST-PENSION-511602")
            )
            applied = session.get(AppliedCatalog, 2)
            assert applied is not None and applied.via == "nats"
            assert applied.counts["items_created"] == 1 and applied.counts["items_withdrawn"] == 1
        assert impl_after == impl_before

        # The station, offline, serves its copy: the old name, still found.
        assert held(edge) == 1 and item(edge, PENSION).name != NEW_NAME
        assert PENSION in names(edge, "养老保险")
        # The link returns: the change flows down through the leaf node.
        leaf.start()
        run_feeds(cats.feed("edge"), until=lambda: held(edge) == 2)
        assert item(edge, PENSION).name == NEW_NAME
        assert item(edge, "TEST-NOT-OFFERED").withdrawn_at is not None
        # GET /api/v1/node tells the version each node holds.
        with TestClient(create_app(edge.settings, edge.database)) as client:
            assert client.get("/api/v1/node").json()["catalog_version"] == 2
    finally:
        leaf.stop()


def test_with_the_national_node_away_a_node_serves_search_and_filing_from_its_copy(
    cats: Catalogs, tmp_path: Path
) -> None:
    gd = cats["guangdong"]
    national = cats.national
    with national.session() as session:
        document = catalog_feed.publish_if_changed(session, settings=national.settings).document
    assert catalog_feed.take(gd.database, data=document, via="http") is not None
    # The national node is away: NATS unreachable, HTTP refused; the feed logs and goes on.
    away = gd.fed.model_copy(
        update={
            "nats_url": f"nats://127.0.0.1:{free_port()}",
            "catalog_url": f"http://127.0.0.1:{free_port()}/api/v1/federation/catalog",
        }
    )
    feed = CatalogFeed(gd.database, gd.settings, away)
    stop = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(feed.run(stop)), daemon=True)
    thread.start()
    time.sleep(1.0)
    with pytest.raises(httpx.HTTPError):
        catalog_feed.pull(gd.database, url=away.catalog_url)
    assert PENSION in names(gd, "养老保险")
    number = gd.file_pension()
    assert number.startswith("440000-")
    assert held(gd) == 1
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()


def _forge(document: bytes, **changes: Any) -> bytes:
    data = json.loads(document)
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        elif key in ("key_id", "signature"):
            data[key] = value
        else:
            data["catalog"][key] = value
    return canonical(data)


def _signed_by(key: Ed25519PrivateKey, key_id: str, body: dict[str, Any]) -> bytes:
    signature = base64.b64encode(key.sign(canonical(body))).decode()
    return canonical({"catalog": body, "key_id": key_id, "signature": signature})


def refusals(node: Node) -> list[str]:
    with node.session() as session:
        rows = session.scalars(
            select(Event).where(Event.action == "federation.catalog_refused").order_by(Event.id)
        ).all()
        return [str(r.data["refusal"]) for r in rows]


def test_forged_and_unsigned_documents_are_refused_and_recorded(
    cats: Catalogs, hub: NatsServer
) -> None:
    gd = cats["guangdong"]
    national = cats.national
    change_nationally(cats)
    with national.session() as session:
        document = catalog_feed.publish_if_changed(session, settings=national.settings).document
    genuine = json.loads(document)
    body = genuine["catalog"]
    gd_key = exchange.node_key(gd.settings)
    forged = {
        # no signature at all
        "malformed": _forge(document, signature=None),
        # the items altered after signing
        "bad_signature": _forge(document, items=body["items"][:1]),
        # a province signing a catalog as itself
        "not_national": _signed_by(gd_key.private, gd_key.key_id, {**body, "issuer": gd.node_id}),
        # a key the directory does not list for the national node
        "unknown_key": _signed_by(Ed25519PrivateKey.generate(), f"{national.node_id}#rogue", body),
    }
    before = catalog.catalog_fingerprint
    with gd.session() as session:
        fingerprint = before(session)
    for reason, data in forged.items():
        assert catalog_feed.take(gd.database, data=data, via="http") is None, reason
    assert refusals(gd) == list(forged)
    with gd.session() as session:
        assert before(session) == fingerprint  # nothing written
    assert held(gd) is None and item(gd, PENSION).name != NEW_NAME

    # Over NATS: a forged version on the subject is refused once (not at every round), and
    # the genuine one still applies when the national node publishes it.
    async def publish_forged() -> None:
        import gzip

        import nats

        nc = await nats.connect(hub.url)
        js = nc.jetstream(domain="hub")
        await js.add_stream(
            name=gd.fed.catalog_stream, subjects=[gd.fed.catalog_subject], max_msgs_per_subject=1
        )
        await js.publish(
            gd.fed.catalog_subject,
            gzip.compress(forged["not_national"]),
            headers={catalog_feed.VERSION_HEADER: "99"},
        )
        await nc.close()

    asyncio.run(publish_forged())
    gd_feed = cats.feed("guangdong")
    run_feeds(gd_feed, until=lambda: len(refusals(gd)) == 5)
    run_feeds(gd_feed, until=lambda: True)
    assert len(refusals(gd)) == 5
    national_feed = cats.feed("national")
    run_feeds(national_feed, gd_feed, until=lambda: held(gd) == 1)
    assert item(gd, PENSION).name == NEW_NAME

    # A forgery that replaced the genuine version on the stream: the national node publishes
    # its version again (a station that missed it still finds the genuine one).
    async def last_on_stream() -> bytes:
        import gzip

        import nats

        nc = await nats.connect(hub.url)
        msg = await nc.jetstream(domain="hub").get_last_msg(
            gd.fed.catalog_stream, gd.fed.catalog_subject
        )
        await nc.close()
        return gzip.decompress(msg.data or b"")

    asyncio.run(publish_forged())
    assert asyncio.run(last_on_stream()) == forged["not_national"]
    run_feeds(national_feed, until=lambda: asyncio.run(last_on_stream()) == document)
    # The refusals are counted for alerting.
    assert catalog_feed.REFUSED.labels("not_national")._value.get() >= 2


def test_the_same_version_applied_twice_changes_nothing_and_an_older_one_is_ignored(
    cats: Catalogs,
) -> None:
    gd, national = cats["guangdong"], cats.national
    with national.session() as session:
        first = catalog_feed.publish_if_changed(session, settings=national.settings)
        assert catalog_feed.publish_if_changed(session, settings=national.settings) == first
    change_nationally(cats)
    with national.session() as session:
        second = catalog_feed.publish_if_changed(session, settings=national.settings)
    assert (first.version, second.version) == (1, 2)

    def counts() -> tuple[int, int, int]:
        with gd.session() as session:
            return (
                session.scalar(select(func.count()).select_from(AppliedCatalog)) or 0,
                session.scalar(select(func.count()).select_from(CatalogRevision)) or 0,
                session.scalar(select(func.count()).select_from(Event)) or 0,
            )

    outcome = catalog_feed.take(gd.database, data=second.document, via="http")
    assert outcome is not None and outcome.outcome == "applied"
    after = counts()
    again = catalog_feed.take(gd.database, data=second.document, via="nats")
    assert again is not None and again.outcome == "duplicate"
    older = catalog_feed.take(gd.database, data=first.document, via="nats")
    assert older is not None and older.outcome == "stale"
    assert counts() == after
    assert item(gd, PENSION).name == NEW_NAME and held(gd) == 2


def test_two_appliers_of_one_version_at_once_apply_it_once(cats: Catalogs) -> None:
    gd, national = cats["guangdong"], cats.national
    with national.session() as session:
        document = catalog_feed.publish_if_changed(session, settings=national.settings).document
    second: list[Any] = []
    with gd.session() as session:
        first = catalog_feed.apply_document(session, data=document, via="nats")
        # The HTTP poll takes the same version while the feed's transaction is still open.
        racer = threading.Thread(
            target=lambda: second.append(catalog_feed.take(gd.database, data=document, via="http"))
        )
        racer.start()
        time.sleep(1.0)
    racer.join(timeout=30)
    assert first.outcome == "applied"
    assert second and second[0] is not None and second[0].outcome == "duplicate"
    with gd.session() as session:
        assert session.scalar(select(func.count()).select_from(AppliedCatalog)) == 1
        applied = select(func.count()).where(Event.action == "federation.catalog_applied")
        assert session.scalar(applied) == 1


def test_a_case_filed_before_the_change_keeps_its_snapshot(cats: Catalogs) -> None:
    gd, national = cats["guangdong"], cats.national
    number = gd.file_pension()
    change_nationally(cats)
    with national.session() as session:
        document = catalog_feed.publish_if_changed(session, settings=national.settings).document
    assert catalog_feed.take(gd.database, data=document, via="http") is not None
    with gd.session() as session:
        from tests.support import cases_internals as cases

        case = cases.get_case(session, number=number)
        assert case.item_name == "企业职工基本养老保险关系转移接续"
        assert case.implementation_code == "TEST-PENSION-511602"
    assert item(gd, PENSION).name == NEW_NAME
    # A case filed now takes the new name.
    later = gd.file_pension(applicant="王建国")
    with gd.session() as session:
        assert cases.get_case(session, number=later).item_name == NEW_NAME


@pytest.fixture
def as_national(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TONGBAN_FEDERATION_ROLE", "national")
    config.get_federation_settings.cache_clear()
    yield
    config.get_federation_settings.cache_clear()


@pytest.fixture
def national_http(cats: Catalogs, as_national: None) -> Iterator[str]:
    """The national node behind a real HTTP server on loopback; its base URL."""
    port = free_port()
    app = create_app(cats.national.settings, cats.national.database)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_national_node_serves_its_catalog_over_http_with_etags(
    cats: Catalogs, national_http: str
) -> None:
    url = f"{national_http}/api/v1/federation/catalog"
    r = httpx.get(url)
    assert r.status_code == 200 and r.headers["etag"] == '"catalog-v1"'
    assert r.json()["catalog"]["version"] == 1
    assert httpx.get(url, headers={"If-None-Match": '"catalog-v1"'}).status_code == 304
    assert httpx.get(url, params={"since": 1}).status_code == 304
    assert httpx.get(url, params={"since": 0}).status_code == 200
    assert httpx.get(url, params={"since": -1}).status_code == 422
    assert httpx.get(f"{national_http}/api/v1/node").json()["catalog_version"] == 1

    gd = cats["guangdong"]
    assert catalog_feed.pull(gd.database, url=url) is not None
    assert catalog_feed.pull(gd.database, url=url) is None  # 304: nothing new
    change_nationally(cats)
    outcome = catalog_feed.pull(gd.database, url=url)
    assert outcome is not None and (outcome.version, outcome.outcome) == (2, "applied")
    assert item(gd, PENSION).name == NEW_NAME
    with gd.session() as session:
        applied = session.get(AppliedCatalog, 2)
        assert applied is not None and applied.via == "http"


def test_only_the_national_node_serves_the_catalog(cats: Catalogs) -> None:
    with TestClient(create_app(cats["guangdong"].settings, cats["guangdong"].database)) as c:
        assert c.get("/api/v1/federation/catalog").status_code == 404
        assert c.get("/api/v1/node").json()["catalog_version"] is None


def _as_node(monkeypatch: pytest.MonkeyPatch, node: Node) -> None:
    """The CLI's process settings are this node's."""
    from tongban.platform.config import get_settings

    monkeypatch.setenv("TONGBAN_DATA_DIR", str(node.settings.data_dir))
    monkeypatch.setenv("TONGBAN_NODE_NAME", node.settings.node_name)
    monkeypatch.setenv("TONGBAN_NODE_REGION", node.settings.node_region)
    monkeypatch.setenv("TONGBAN_EXCHANGE_NATIONAL_KEY", node.settings.exchange_national_key)
    url = node.database.engine.url
    if url.get_backend_name() == "postgresql":  # a test database is a schema: keep its path
        with node.database.engine.connect() as conn:
            schema = str(conn.exec_driver_sql("SHOW search_path").scalar())
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    monkeypatch.setenv("TONGBAN_DATABASE_URL", url.render_as_string(hide_password=False))
    get_settings.cache_clear()


def test_the_operator_withdraws_publishes_and_pulls_from_the_command_line(
    cats: Catalogs, national_http: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from tongban.platform.config import get_settings
    from tongban.shell.cli import app as cli

    runner = CliRunner()
    try:
        _as_node(monkeypatch, cats.national)
        r = runner.invoke(cli, ["federation", "catalog", "withdraw", "TEST-HUJI-PROOF"])
        assert r.exit_code == 0 and "withdrawn" in r.output, r.output
        r = runner.invoke(cli, ["federation", "catalog", "publish"])
        assert r.exit_code == 0 and r.output.startswith("v1 "), r.output
        assert runner.invoke(cli, ["federation", "catalog", "withdraw", "NO-SUCH"]).exit_code == 1

        _as_node(monkeypatch, cats["guangdong"])
        url = f"{national_http}/api/v1/federation/catalog"
        r = runner.invoke(cli, ["federation", "catalog", "pull", url])
        assert r.exit_code == 0 and r.output.startswith("v1 applied"), r.output
        r = runner.invoke(cli, ["federation", "catalog", "pull", url])
        assert r.exit_code == 0 and "v1 is current" in r.output, r.output
        r = runner.invoke(cli, ["federation", "catalog", "status"])
        assert r.output.strip() == "applied v1"
        assert item(cats["guangdong"], "TEST-HUJI-PROOF").withdrawn_at is not None
        away = f"http://127.0.0.1:{free_port()}/api/v1/federation/catalog"
        r = runner.invoke(cli, ["federation", "catalog", "pull", away])
        assert r.exit_code == 1 and "unreachable" in r.output
    finally:
        get_settings.cache_clear()
