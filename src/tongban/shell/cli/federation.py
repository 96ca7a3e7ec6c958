"""`tongban federation demo` (a national node, two provinces, a station and NATS on loopback)
and `tongban edge` (a village or township station behind a NATS leaf node)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
import typer

from tongban.platform.config import Settings
from tongban.shell.cli.federation_catalog import group as catalog_group

group = typer.Typer(
    help="Nodes of the federation: provinces, stations, NATS.", no_args_is_help=True
)
group.add_typer(catalog_group, name="catalog")


@dataclass(frozen=True)
class DemoNode:
    """One node of the demo federation."""

    name: str
    region: str
    role: str
    offset: int  # its port is base_port + offset


DEMO_NODES = (
    DemoNode("national", "100000", "national", 0),
    DemoNode("guangdong", "440000", "provincial", 1),
    DemoNode("sichuan", "510000", "provincial", 2),
    # 南山区南头街道 便民服务站: files cases for anyone's authority, decides none.
    DemoNode("edge", "440305001000", "edge", 3),
)
NATS_OFFSET = 10  # the hub's client port; +1 for leaf nodes, +2 for the station's leaf


def _settings(node: DemoNode, *, root: Path, port: int, national_key: str) -> Settings:
    return Settings(
        data_dir=root / node.name,
        node_name=f"{node.name}.tongban.demo",
        node_region=node.region,
        public_base_url=f"http://127.0.0.1:{port}",
        exchange_national_key=national_key,
        database_url=None,
    )


def _environment(settings: Settings, *, role: str, nats_url: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("TONGBAN_"):
            del env[name]
    env.update(
        TONGBAN_DATA_DIR=str(settings.data_dir),
        TONGBAN_NODE_NAME=settings.node_name,
        TONGBAN_NODE_REGION=settings.node_region,
        TONGBAN_PUBLIC_BASE_URL=settings.public_base_url,
        TONGBAN_EXCHANGE_NATIONAL_KEY=settings.exchange_national_key,
        TONGBAN_FEDERATION_NATS_URL=nats_url,
        TONGBAN_FEDERATION_ROLE=role,
        TONGBAN_FEDERATION_JS_DOMAIN="hub",
        # The national catalog: the national node publishes a changed catalog within two
        # seconds; the other nodes take it from its stream (the station through its leaf).
        TONGBAN_FEDERATION_CATALOG_POLL_SECONDS="2",
    )
    return env


def prepare_demo(root: Path, base_port: int) -> dict[str, Settings]:
    """Migrate every node's database, load the demo data, sign the directory on the national
    node and load it everywhere; the nodes' settings by name."""
    from tongban.exchange import service as exchange
    from tongban.platform.db import Database, upgrade_database
    from tongban.shell.cli.serve import load_demo_data

    national_key = ""
    made: dict[str, Settings] = {}
    for node in DEMO_NODES:
        settings = _settings(
            node, root=root, port=base_port + node.offset, national_key=national_key
        )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if node.role == "national":
            national_key = exchange.node_key(settings).public_b64
            settings = settings.model_copy(update={"exchange_national_key": national_key})
        made[node.name] = settings
    national = made["national"]
    for settings in made.values():
        upgrade_database(settings.resolved_database_url())
        database = Database(settings.resolved_database_url())
        try:
            load_demo_data(database, settings=settings)
        finally:
            database.dispose()
    database = Database(national.resolved_database_url())
    try:
        with database.session_scope() as session:
            for name, settings in made.items():
                if name != "national":
                    exchange.register_node(session, entry=exchange.this_node(settings))
            document = exchange.export_directory(session, settings=national)
    finally:
        database.dispose()
    for settings in made.values():
        database = Database(settings.resolved_database_url())
        try:
            with database.session_scope() as session:
                exchange.load_directory_document(session, document=document, settings=settings)
        finally:
            database.dispose()
    return made


def _serve_command(port: int) -> list[str]:
    code = (
        "from tongban.shell.cli.serve import run_server; "
        f"run_server('tongban.shell.app:create_served_app', host='127.0.0.1', port={port}, "
        "log_level='warning')"
    )
    return [sys.executable, "-c", code]


def _wait_up(url: str, timeout: float = 180.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


@group.command("demo")
def demo(
    base_port: Annotated[
        int, typer.Option("--base-port", help="national: N, guangdong N+1, sichuan N+2, edge N+3.")
    ] = 8100,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the nodes and NATS keep their data.")
    ] = Path("var/federation"),
) -> None:
    """Start a national node, Guangdong and Sichuan, a station and NATS on loopback; print
    `NAME URL` per node and run until interrupted (nodes log to <data-dir>/<name>/server.log)."""
    from tongban.federation.nats_server import NatsServer

    root = data_dir.resolve()
    hub = NatsServer(
        port=base_port + NATS_OFFSET,
        store_dir=root / "nats",
        leaf_port=base_port + NATS_OFFSET + 1,
    )
    leaf = NatsServer(
        port=base_port + NATS_OFFSET + 2, store_dir=root / "nats-edge", leaf_of=hub.leaf_url
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        typer.echo("preparing the nodes (migrations, demo data, the signed directory)…", err=True)
        nodes = prepare_demo(root, base_port)
        hub.start()
        leaf.start()
        for node in DEMO_NODES:
            settings = nodes[node.name]
            nats_url = leaf.url if node.role == "edge" else hub.url
            env = _environment(settings, role=node.role, nats_url=nats_url)
            log = (settings.data_dir / "server.log").open("ab")
            processes.append(
                subprocess.Popen(
                    _serve_command(base_port + node.offset),
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()
        for node in DEMO_NODES:
            url = f"http://127.0.0.1:{base_port + node.offset}"
            if not _wait_up(url):
                typer.secho(f"error: {node.name} did not start at {url}", err=True)
                raise typer.Exit(code=1)
        for node in DEMO_NODES:
            typer.echo(f"{node.name} http://127.0.0.1:{base_port + node.offset}", color=False)
        sys.stdout.flush()
        typer.echo(
            f"NATS {hub.url} (leaf for the station: {leaf.url}); accounts as in `tongban demo` "
            "(password tongban-demo): the clerk files on guangdong or edge, the official "
            "decides on sichuan. The provinces and the station take the national basic "
            "catalog from the national node (GET /api/v1/node shows the version each holds); "
            f"change it with TONGBAN_DATA_DIR={nodes['national'].data_dir} tongban catalog "
            "import FILE, or tongban federation catalog withdraw CODE. "
            "Ctrl-C stops everything.",
            err=True,
        )
        _wait_for_interrupt(processes)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        leaf.stop()
        hub.stop()


def _wait_for_interrupt(processes: list[subprocess.Popen[bytes]]) -> None:
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop:
            if any(p.poll() is not None for p in processes):
                typer.secho("a node stopped; stopping the demo", err=True)
                return
            time.sleep(0.5)
    except KeyboardInterrupt:
        return


def edge(
    hub: Annotated[
        str, typer.Option("--hub", help="The hub's leaf-node URL (nats-leaf://host:7422).")
    ],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    nats_port: Annotated[int, typer.Option(help="The station's own NATS (leaf) port.")] = 4223,
) -> None:
    """Run a village or township station (TONGBAN_NODE_REGION: its 12-digit code) on SQLite,
    connected to the hub as a NATS leaf node; it keeps filing when the link is down."""
    from tongban.federation.nats_server import NatsServer
    from tongban.platform.db import upgrade_database
    from tongban.shell.cli.common import load_settings
    from tongban.shell.cli.serve import run_server

    settings = load_settings()
    if len(settings.node_region) != 12:
        typer.secho("error: TONGBAN_NODE_REGION must be the station's 12-digit code", err=True)
        raise typer.Exit(code=1)
    upgrade_database(settings.resolved_database_url())
    leaf = NatsServer(port=nats_port, store_dir=settings.data_dir / "nats", leaf_of=hub).start()
    os.environ.update(
        TONGBAN_FEDERATION_NATS_URL=leaf.url,
        TONGBAN_FEDERATION_ROLE="edge",
        TONGBAN_FEDERATION_JS_DOMAIN=os.environ.get("TONGBAN_FEDERATION_JS_DOMAIN", "hub"),
    )
    try:
        run_server("tongban.shell.app:create_served_app", host=host, port=port)
    finally:
        leaf.stop()
