"""The node directory: the national node exports it signed, a province node loads it with the
national key (from a file or a URL), refuses a tampered or foreign one, and keeps working from
its cache when the national node is away; `tongban exchange directory export|load`."""

from __future__ import annotations

import copy
import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from tongban.events.models import Event
from tongban.exchange import directory, nodes, signing
from tongban.exchange.errors import ProviderUnavailable
from tongban.exchange.models import Node
from tongban.platform.config import Settings, get_settings
from tongban.platform.db import Database
from tongban.platform.errors import Invalid
from tongban.shell.cli import app as cli


def _national(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "national",
        database_url="sqlite://",
        node_name="national.tongban",
        node_region="100000",
        public_base_url="https://national.example",
    )


def _province(tmp_path: Path, key: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "province",
        database_url="sqlite://",
        node_name="sichuan.tongban",
        node_region="510000",
        exchange_national_key=key,
    )


@contextmanager
def _serving(folder: Path) -> Iterator[str]:
    """A plain HTTP server over a folder (the national node publishing its file)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_province_loads_the_national_directory_and_refuses_others(
    db: Session, tmp_path: Path
) -> None:
    national = _national(tmp_path)
    nodes.put_node(
        db,
        entry={
            "node_id": "guangdong.tongban",
            "region_code": "440000",
            "base_url": "https://gd.example",
            "public_keys": {"guangdong.tongban#k1": signing.node_key(national).public_b64},
        },
    )
    document = directory.export_directory(db, settings=national)
    listed = {entry["node_id"] for entry in document["directory"]["nodes"]}
    assert {"national.tongban", "guangdong.tongban"} <= listed
    assert document["directory"]["regions"]["100000"] == "national.tongban"
    province = _province(tmp_path, signing.node_key(national).public_b64)
    for node_id in listed:  # the province starts from nothing
        row = db.get(Node, node_id)
        if row is not None:
            db.delete(row)
    db.flush()

    tampered = copy.deepcopy(document)
    tampered["directory"]["nodes"][0]["base_url"] = "https://evil.example"
    foreign = directory.export_directory(db, settings=_province(tmp_path, ""))
    bad_ones: list[object] = [tampered, foreign, {"nodes": []}]
    for bad in bad_ones:
        with pytest.raises(Invalid):
            directory.load_document(db, document=bad, settings=province)
    with pytest.raises(Invalid, match="national key"):
        directory.load_document(db, document=document, settings=_province(tmp_path, ""))
    assert db.get(Node, "national.tongban") is None  # nothing loaded from a refused document

    loaded = directory.load_document(db, document=document, settings=province)
    assert loaded["nodes"] == len(listed)
    national_row = db.get(Node, "national.tongban")
    assert national_row is not None and national_row.base_url == "https://national.example"
    event = db.scalars(
        select(Event).where(Event.action == "exchange.directory_loaded").order_by(Event.id.desc())
    ).first()
    assert event is not None and event.data["sha256"] == loaded["sha256"]
    assert directory.cache_path(province).exists()


def test_loading_from_a_url_falls_back_to_the_cache_when_the_national_node_is_away(
    db: Session, tmp_path: Path
) -> None:
    national = _national(tmp_path)
    province = _province(tmp_path, signing.node_key(national).public_b64)
    published = tmp_path / "www"
    published.mkdir()
    document = directory.export_directory(db, settings=national)
    (published / "directory.json").write_text(json.dumps(document), encoding="utf-8")
    with _serving(published) as base:
        url = f"{base}/directory.json"
        fetched, from_cache = directory.read_source(url, settings=province)
        assert not from_cache
        directory.load_document(db, document=fetched, settings=province)
    # The national node is away now: the cached document (verified again) is used.
    cached, from_cache = directory.read_source(url, settings=province)
    assert from_cache and cached == document
    assert directory.load_document(db, document=cached, settings=province)["nodes"] >= 1
    nowhere = _province(tmp_path / "fresh", province.exchange_national_key)
    with pytest.raises(ProviderUnavailable):
        directory.read_source(url, settings=nowhere)


def test_the_cli_exports_and_loads(tmp_path: Path) -> None:
    """`tongban exchange directory export` on one node, `load` on another (SQLite files)."""
    runner = CliRunner()

    def run(args: list[str], env: dict[str, str]) -> Result:
        get_settings.cache_clear()  # each call is another node's process
        try:
            return runner.invoke(cli, args, env=env)
        finally:
            get_settings.cache_clear()

    def node(name: str, region: str, key: str = "") -> dict[str, str]:
        folder = tmp_path / name
        folder.mkdir()
        env = {
            "TONGBAN_DATA_DIR": str(folder / "var"),
            "TONGBAN_DATABASE_URL": f"sqlite:///{folder / 'db.sqlite'}",
            "TONGBAN_NODE_NAME": f"{name}.tongban",
            "TONGBAN_NODE_REGION": region,
            "TONGBAN_EXCHANGE_NATIONAL_KEY": key,
        }
        upgraded = run(["db", "upgrade"], env)
        assert upgraded.exit_code == 0, upgraded.output
        return env

    national = node("national", "100000")
    out = tmp_path / "directory.json"
    exported = run(["exchange", "directory", "export", "--out", str(out)], national)
    assert exported.exit_code == 0, exported.output
    keys = json.loads(out.read_text())["directory"]["nodes"][0]["public_keys"]
    province = node("sichuan", "510000", next(iter(keys.values())))
    loaded = run(["exchange", "directory", "load", str(out)], province)
    assert loaded.exit_code == 0, loaded.output
    assert "1 nodes loaded" in loaded.output
    with _serving(tmp_path) as base:  # serve's scheduled reload, by hand
        at = {**province, "TONGBAN_EXCHANGE_DIRECTORY_URL": f"{base}/directory.json"}
        again = run(["exchange", "directory", "reload"], at)
        assert again.exit_code == 0 and again.output.startswith("unchanged: 1 nodes")
    unset = run(["exchange", "directory", "reload"], province)
    assert unset.exit_code == 1 and "TONGBAN_EXCHANGE_DIRECTORY_URL" in unset.output
    queue = run(["exchange", "run-fetches", "--retry", "511602-20261102-X00000000001"], province)
    assert queue.exit_code == 0, queue.output
    assert (
        "0 failed fetch(es)" in queue.output and "0 fetched, 0 to retry, 0 failed" in queue.output
    )
    other_key = signing.public_b64(Ed25519PrivateKey.generate().public_key())
    stranger = node("other", "440000", other_key)
    refused = run(["exchange", "directory", "load", str(out)], stranger)
    assert refused.exit_code == 1 and "signature" in refused.output


def test_the_scheduled_reload_follows_the_national_node_and_keeps_the_cache(
    db: Session, bound_database: Database, tmp_path: Path
) -> None:
    """`directory.reload` (what `serve` runs on schedule): a new document is loaded, the same
    one changes nothing, a withdrawn node goes, an older or forged document and an absent
    national node leave the cache as it was."""
    national = _national(tmp_path)
    key = signing.node_key(national).public_b64
    gd = {
        "node_id": "guangdong.tongban",
        "region_code": "440000",
        "base_url": "https://gd.example",
        "public_keys": {"guangdong.tongban#k1": key},
    }
    nodes.put_node(db, entry=gd)
    first = directory.export_directory(db, settings=national)
    published = tmp_path / "www"
    published.mkdir()
    target = published / "directory.json"

    def publish(document: dict[str, object]) -> None:
        target.write_text(json.dumps(document), encoding="utf-8")

    def loaded_events() -> int:
        return len(
            db.scalars(select(Event).where(Event.action == "exchange.directory_loaded")).all()
        )

    publish(first)
    with _serving(published) as base:
        province = _province(tmp_path, key).model_copy(
            update={"exchange_directory_url": f"{base}/directory.json"}
        )
        assert directory.reload(bound_database, province).outcome == "loaded"
        db.expire_all()
        assert db.get(Node, "guangdong.tongban") is not None
        events_after_first = loaded_events()
        assert directory.reload(bound_database, province).outcome == "unchanged"
        assert loaded_events() == events_after_first  # nothing written

        # The national node withdraws guangdong: gone at the next reload.
        db.delete(db.get(Node, "guangdong.tongban"))
        db.flush()
        time.sleep(1.1)  # a later issue time (seconds)
        second = directory.export_directory(db, settings=national)
        publish(second)
        nodes.put_node(db, entry=gd)  # the province still has it cached
        assert directory.reload(bound_database, province).outcome == "loaded"
        db.expire_all()
        assert db.get(Node, "guangdong.tongban") is None
        delisted = db.scalars(select(Event).where(Event.action == "exchange.node_delisted")).all()
        assert [e.resource_id for e in delisted][-1] == "guangdong.tongban"

        publish(first)  # an older document (guangdong's key again): refused
        old = directory.reload(bound_database, province)
        assert old.outcome == "refused" and "older" in old.detail
        forged = copy.deepcopy(second)
        forged["directory"]["nodes"][0]["base_url"] = "https://evil.example"
        publish(forged)
        assert directory.reload(bound_database, province).outcome == "refused"
        db.expire_all()
        assert db.get(Node, "guangdong.tongban") is None
        assert all(row.base_url != "https://evil.example" for row in db.scalars(select(Node)))
    # The national node is away: the cached nodes stay.
    before = sorted(row.node_id for row in db.scalars(select(Node)))
    away = directory.reload(bound_database, province)
    assert away.outcome == "away"
    db.expire_all()
    assert sorted(row.node_id for row in db.scalars(select(Node))) == before
    assert "national.tongban" in before
    assert directory.reload(bound_database, _province(tmp_path, key)).outcome == "off"


def test_the_plain_read_of_a_node_is_the_directory_entry(db: Session, tmp_path: Path) -> None:
    """`nodes.listed` (what every exchange reads) gives what the ORM row holds, and sees a
    re-keyed or removed node at once."""
    key = signing.node_key(_national(tmp_path)).public_b64
    entry = {
        "node_id": "hubei.tongban",
        "region_code": "420000",
        "base_url": "https://hb.example/",
        "public_keys": {"hubei.tongban#k1": key, "other.tongban#k1": key},
    }
    nodes.put_node(db, entry=entry)
    row = nodes.get_node(db, node_id="hubei.tongban")
    plain = nodes.listed(db, node_id="hubei.tongban")
    assert row is not None and plain is not None
    assert (plain.base_url, plain.public_keys) == (row.base_url, row.public_keys)
    assert nodes.public_keys(plain).keys() == nodes.public_keys(row).keys() == {"hubei.tongban#k1"}
    rotated = signing.public_b64(Ed25519PrivateKey.generate().public_key())
    nodes.put_node(db, entry={**entry, "public_keys": {"hubei.tongban#k2": rotated}})
    again = nodes.listed(db, node_id="hubei.tongban")
    assert again is not None and set(again.public_keys) == {"hubei.tongban#k2"}
    db.delete(db.get(Node, "hubei.tongban"))
    db.flush()
    assert nodes.listed(db, node_id="hubei.tongban") is None
    assert nodes.listed(db, node_id="nowhere.tongban") is None
