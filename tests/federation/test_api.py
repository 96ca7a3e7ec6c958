"""Who a node is (`GET /api/v1/node`, every node) and, on the national node only, the signed
directory (`GET /api/v1/federation/nodes`, verifiable with the national key, loadable by a
province) and the routing table (`GET /api/v1/federation/routes`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tongban.exchange import directory, signing
from tongban.exchange import service as exchange
from tongban.federation import config, routing
from tongban.platform.config import Settings


@pytest.fixture
def national(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This node plays the national node."""
    monkeypatch.setenv("TONGBAN_FEDERATION_ROLE", "national")
    config.get_federation_settings.cache_clear()
    routing.forget()
    yield
    config.get_federation_settings.cache_clear()


def test_every_node_says_who_it_is(client: TestClient, settings: Settings) -> None:
    r = client.get("/api/v1/node")
    assert r.status_code == 200
    node = r.json()
    key = signing.node_key(settings)
    assert node["node_id"] == settings.node_name == key.node_id
    assert node["region_code"] == settings.node_region
    assert node["role"] == "provincial"
    assert (node["key_id"], node["public_key"]) == (key.key_id, key.public_b64)
    # Only the national node publishes the directory and the routes.
    assert client.get("/api/v1/federation/nodes").status_code == 404
    assert client.get("/api/v1/federation/routes").status_code == 404


def test_the_national_node_serves_the_signed_directory_and_routes(
    client: TestClient, db: Session, settings: Settings, national: None
) -> None:
    for name, region in (("gd.node", "440000"), ("sc.node", "510000"), ("st.node", "440305001000")):
        other = Settings(data_dir=settings.data_dir / name, node_name=name, node_region=region)
        exchange.register_node(db, entry=exchange.this_node(other))
    assert client.get("/api/v1/node").json()["role"] == "national"
    document = client.get("/api/v1/federation/nodes").json()
    listed = directory.verify(document, national_key=signing.node_key(settings).public_b64)
    assert {n["node_id"] for n in listed["nodes"]} >= {"gd.node", "sc.node", "st.node"}
    routes = client.get("/api/v1/federation/routes").json()
    by_prefix = {r["prefix"]: r["node_id"] for r in routes}
    assert by_prefix["51"] == "sc.node" and by_prefix["44"] == "gd.node"
    # Longest prefix first; the station is listed (it numbers cases) but serves no authority.
    assert routes[0]["prefix"] == "440305001"
    table = routing.table(exchange.directory_entries(db))
    assert routing.serving(table, "440305")
    assert routing.serving(table, "440305").node_id == "gd.node"  # type: ignore[union-attr]
    assert routing.issuer(table, "440305001000").node_id == "st.node"  # type: ignore[union-attr]
    assert routing.serving(table, "110101") is None
