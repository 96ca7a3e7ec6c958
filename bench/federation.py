"""Federation benchmarks (issue #18): cases from one node to another over NATS JetStream.

Three nodes on this machine, each its own database (SQLite files, or PostgreSQL schemas with
`--backend postgresql`) and its own process for the federation worker, and a nats-server with
JetStream on a free loopback port:

- transfer: the Guangdong clerk files CASES pension transfers for Sichuan's authority through
  the cases service, at most RATE per second; Guangdong's worker publishes each (signed, with
  its material), Sichuan's applies it in its own transaction. Measured per case: from its
  submission (received_at on Guangdong) to its arrival in Sichuan's queue (the inbox row
  written in the transaction that made the case there). Targets: >= 200 cases/s sustained,
  p95 <= 500 ms.
- edge backlog: a station (12-digit code) files BACKLOG cases with no link (its outbox holds
  them), then its worker starts: the time until Sichuan has all of them. Target: 10,000 <= 60 s.
- stages (`--stages N`): each stage alone in this one process, as CPU seconds per case (the
  machine is shared: CPU time says what the code costs, wall time what the machine gave):
  filing (of which the routing hook), sealing the outbox, publishing with acks, receiving
  and applying.

CPU per case of each worker process and of nats-server is printed beside the rates, and the
load average before and after.

    python -m bench.federation [--cases 3000] [--rate 250] [--backlog 10000] [--backend sqlite]
        [--filers 1]
    python -m bench.federation --stages 1000 [--backend postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench import _cpu
from tongban.cases import service as cases_service
from tongban.cases.intake import submit
from tongban.cases.schemas import CaseCreate
from tongban.cases.uploads import upload
from tongban.exchange import service as exchange
from tongban.federation import routing
from tongban.federation import service as federation
from tongban.federation.models import Incoming, Outgoing
from tongban.federation.nats_server import NatsServer, free_port
from tongban.identity import service as identity
from tongban.identity.callers import actor_for
from tongban.identity.models import Account
from tongban.platform.config import Settings
from tongban.platform.db import Database, upgrade_database

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7358184000000"
    "0049454e44ae426082"
)
POSTGRES = "postgresql+psycopg://root@127.0.0.1:5432/test"


def _run_worker(config: dict[str, Any], ready: Any = None) -> None:
    """A node's federation worker in a process of its own (as `serve` runs it); `ready` is set
    once it is connected (under load, starting a process takes seconds)."""
    settings = Settings(**config["settings"])
    database = Database(settings.resolved_database_url())
    worker = federation.Worker(database, settings, federation.FederationSettings(**config["fed"]))

    async def run() -> None:
        await worker.connect()
        if ready is not None:
            ready.set()
        await worker.run(threading.Event())

    asyncio.run(run())


def _start_workers(nodes: list[Settings], fed: federation.FederationSettings) -> list[Any]:
    """The nodes' workers, each in a process, once all are connected."""
    spawn = multiprocessing.get_context("spawn")
    started = []
    for settings in nodes:
        ready = spawn.Event()
        process = spawn.Process(target=_run_worker, args=(_config(settings, fed), ready))
        process.start()
        started.append((process, ready))
    for _, ready in started:
        ready.wait(timeout=120)
    return [process for process, _ in started]


def _database_url(root: Path, name: str, backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{root / name / 'tongban.db'}"
    from sqlalchemy import create_engine, text

    schema = f"bench_fed_{name}_{int(time.time())}"
    engine = create_engine(POSTGRES)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{POSTGRES}?options=-csearch_path%3D{schema}"


def _nodes(root: Path, backend: str) -> dict[str, Settings]:
    from tongban.shell.cli.serve import load_demo_data

    national = Settings(
        data_dir=root / "national", node_name="national.bench", node_region="100000"
    )
    key = exchange.node_key(national).public_b64
    made: dict[str, Settings] = {}
    for name, region in (("guangdong", "440000"), ("sichuan", "510000"), ("edge", "440305001000")):
        (root / name).mkdir(parents=True, exist_ok=True)
        made[name] = Settings(
            data_dir=root / name,
            node_name=f"{name}.bench",
            node_region=region,
            exchange_national_key=key,
            database_url=_database_url(root, name, backend),
        )
    national_db = Database(f"sqlite:///{root / 'national.db'}")
    upgrade_database(f"sqlite:///{root / 'national.db'}")
    with national_db.session_scope() as session:
        for settings in made.values():
            exchange.register_node(session, entry=exchange.this_node(settings))
        document = exchange.export_directory(session, settings=national)
    national_db.dispose()
    for settings in made.values():
        upgrade_database(settings.resolved_database_url())
        database = Database(settings.resolved_database_url())
        load_demo_data(database, settings=settings)
        with database.session_scope() as session:
            exchange.load_directory_document(session, document=document, settings=settings)
        database.dispose()
    # Loading the demo data routed its cases before the directory was there: drop that table.
    routing.forget()
    return made


def _filer(settings: Settings) -> tuple[Database, Any, str]:
    # The hooks `serve` installs: a filed case is routed (idempotent, per process).
    cases_service.before_act(federation.guard)
    cases_service.on_changed(federation.changed)
    database = Database(settings.resolved_database_url())
    with database.session_scope() as session:
        clerk = identity.find_account_by_username(session, username="clerk")
        assert clerk is not None
        account = session.get(Account, clerk.id)
        assert account is not None
        actor = actor_for(account)
        sha = upload(session, actor=actor, data=PNG, settings=settings).sha256
    return database, actor, sha


def _file(database: Database, actor: Any, sha: str, settings: Settings, n: int) -> str:
    from tongban.identity.demo import DEMO_CITIZEN_ID

    body = CaseCreate.model_validate(
        {
            "implementation": "511602-101110001000-01",
            "form": {"transfer_out": "四川省广安市", "transfer_in": "广东省深圳市"},
            "materials": [
                {"name": "居民身份证", "sha256": sha},
                {"name": "《基本养老保险关系转移接续申请表》", "sha256": sha},
            ],
            "applicant": {
                "resident_id": DEMO_CITIZEN_ID,
                "name": "王建国",
                "identity_confirmed": True,
            },
        }
    )
    with database.session_scope() as session:
        case, _ = submit(
            session, actor=actor, data=body, settings=settings, idempotency_key=f"b{n}"
        )
        return str(case.number)


def _config(settings: Settings, fed: federation.FederationSettings) -> dict[str, Any]:
    return {
        "settings": {
            "data_dir": str(settings.data_dir),
            "node_name": settings.node_name,
            "node_region": settings.node_region,
            "exchange_national_key": settings.exchange_national_key,
            "database_url": settings.database_url,
        },
        "fed": fed.model_dump(),
    }


def _arrivals(settings: Settings) -> dict[str, datetime.datetime]:
    database = Database(settings.resolved_database_url())
    with database.session_scope() as session:
        rows = session.execute(select(Incoming.case_number, Incoming.received_at)).all()
    database.dispose()
    return {number: at for number, at in rows}


def _published(settings: Settings) -> dict[str, datetime.datetime]:
    """When JetStream acknowledged each case's transfer (the outbox row marked sent)."""
    database = Database(settings.resolved_database_url())
    with database.session_scope() as session:
        rows = session.execute(
            select(Outgoing.case_number, Outgoing.sent_at).where(Outgoing.sent_at.is_not(None))
        ).all()
    database.dispose()
    return {number: at for number, at in rows if at is not None}


def _count(settings: Settings, model: type) -> int:
    database = Database(settings.resolved_database_url())
    with database.session_scope() as session:
        n = int(session.scalar(select(func.count()).select_from(model)) or 0)
    database.dispose()
    return n


def _file_share(
    config: dict[str, Any], start: float, first: int, count: int, rate: float
) -> tuple[dict[str, float], float]:
    """One filing process's share: `count` cases from key `first`, at most `rate`/s from the
    wall-clock `start`; when each was submitted, and the CPU seconds it took."""
    settings = Settings(**config)
    database, actor, sha = _filer(settings)
    cpu = time.process_time()
    submitted: dict[str, float] = {}
    for i in range(count):
        pause = start + i / rate - time.time()
        if pause > 0:
            time.sleep(pause)
        number = _file(database, actor, sha, settings, first + i)
        submitted[number] = time.time()
    database.dispose()
    return submitted, time.process_time() - cpu


def transfer(
    nodes: dict[str, Settings],
    fed: federation.FederationSettings,
    cases: int,
    rate: float,
    filers: int = 1,
) -> dict[str, float]:
    """File `cases` on Guangdong at most `rate`/s (from `filers` processes: a node's app
    servers) with both workers running; latencies."""
    gd, sc = nodes["guangdong"], nodes["sichuan"]
    workers = _start_workers([gd, sc], fed)
    idle_cpu = [_cpu_of(process.pid) for process in workers]  # their start-up
    share = cases // filers
    config = _config(gd, fed)["settings"]
    try:
        start = time.time() + (0.5 if filers == 1 else 5.0)  # the filers start
        if filers == 1:
            shares = [_file_share(config, start, 0, share, rate)]
        else:
            with multiprocessing.get_context("spawn").Pool(filers) as pool:
                shares = pool.starmap(
                    _file_share,
                    [(config, start, k * share, share, rate / filers) for k in range(filers)],
                )
        filed = time.time() - start
        submitted = {n: t for done, _ in shares for n, t in done.items()}
        cases = len(submitted)
        deadline = time.monotonic() + 120
        while _count(sc, Incoming) < cases and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker_cpu = [_cpu_of(process.pid) for process in workers]
        for process in workers:
            process.kill()
            process.join()
    filer_cpu = sum(cpu for _, cpu in shares)
    arrived = _arrivals(sc)
    published = _published(gd)
    to_stream = sorted(
        (published[n].timestamp() - submitted[n]) * 1000 for n in submitted if n in published
    )
    latencies = sorted(
        (arrived[n].timestamp() - submitted[n]) * 1000 for n in submitted if n in arrived
    )
    first, last = min(submitted.values()), max(a.timestamp() for a in arrived.values())
    return {
        "cases": cases,
        "arrived": len(latencies),
        "filed_per_s": cases / filed,
        "transferred_per_s": len(latencies) / (last - first),
        "published_p50_ms": statistics.median(to_stream),
        "published_p95_ms": to_stream[int(0.95 * (len(to_stream) - 1))],
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "max_ms": latencies[-1],
        "cpu_ms_per_case_filer": filer_cpu * 1000 / cases,
        "cpu_ms_per_case_sender_worker": (worker_cpu[0] - idle_cpu[0]) * 1000 / cases,
        "cpu_ms_per_case_receiver_worker": (worker_cpu[1] - idle_cpu[1]) * 1000 / cases,
    }


def edge_backlog(
    nodes: dict[str, Settings], fed: federation.FederationSettings, backlog: int
) -> dict[str, float]:
    """A station files `backlog` cases with no link, then syncs: how long until all arrived."""
    edge, sc = nodes["edge"], nodes["sichuan"]
    database, actor, sha = _filer(edge)
    before = _count(sc, Incoming)
    filing = time.monotonic()
    for n in range(backlog):
        _file(database, actor, sha, edge, n)
    filed = time.monotonic() - filing
    database.dispose()
    assert _count(edge, Outgoing) == backlog
    started = time.monotonic()
    workers = _start_workers([sc, edge], fed)
    connected = time.monotonic() - started
    idle_cpu = [_cpu_of(process.pid) for process in workers]  # their start-up
    try:
        deadline = started + 600
        while _count(sc, Incoming) < before + backlog and time.monotonic() < deadline:
            time.sleep(0.2)
        took = time.monotonic() - started
    finally:
        worker_cpu = [_cpu_of(process.pid) for process in workers]
        for process in workers:
            process.kill()
            process.join()
    return {
        "backlog": backlog,
        "arrived": _count(sc, Incoming) - before,
        "filed_offline_per_s": backlog / filed,
        "sync_seconds_incl_worker_start": took,
        "of_which_worker_start_s": connected,
        "cpu_ms_per_case_receiver_worker": (worker_cpu[0] - idle_cpu[0]) * 1000 / backlog,
        "cpu_ms_per_case_edge_worker": (worker_cpu[1] - idle_cpu[1]) * 1000 / backlog,
    }


def _cpu_of(pid: int | None) -> float:
    """CPU seconds of one live process (0 when gone or not on Linux)."""
    if pid is None:
        return 0.0
    return _cpu.cpu_seconds(lambda p, _: int(p) == pid) or 0.0


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def stages(
    nodes: dict[str, Settings], fed: federation.FederationSettings, n: int, nats_pid: int | None
) -> dict[str, float]:
    """Each stage alone in this process: CPU milliseconds per case (and wall cases/s)."""
    from tongban.federation import outbound

    gd, sc = nodes["guangdong"], nodes["sichuan"]
    database, actor, sha = _filer(gd)
    hook_cpu = [0.0]
    routed = outbound.changed

    def timed(session: Any, **kw: Any) -> None:
        started = time.process_time()
        routed(session, **kw)
        hook_cpu[0] += time.process_time() - started

    from tongban.cases import handling

    hooks = handling._after_change
    hooks[hooks.index(routed)] = timed  # the same hook, timed
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(n):
            _file(database, actor, sha, gd, 10_000_000 + i)
        filing_cpu, filing_wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        hooks[hooks.index(timed)] = routed
    database.dispose()
    sender = federation.Worker(Database(gd.resolved_database_url()), gd, fed)
    receiver = federation.Worker(Database(sc.resolved_database_url()), sc, fed)
    before_in = _count(sc, Incoming)

    cpu, wall = time.process_time(), time.perf_counter()
    sealed = 0
    batch = sender.fed.batch
    while sealed < n:
        got = sender._pending()
        sealed += len(got)
        if len(got) < batch:
            break
    seal_cpu, seal_wall = time.process_time() - cpu, time.perf_counter() - wall

    async def publish() -> tuple[float, float, float]:
        await sender.connect()
        nats_before = _cpu_of(nats_pid)
        cpu, wall = time.process_time(), time.perf_counter()
        while await sender.publish_pending():
            pass
        spent = (time.process_time() - cpu, time.perf_counter() - wall)
        await sender.close()
        return (*spent, _cpu_of(nats_pid) - nats_before)

    async def receive() -> tuple[float, float]:
        await receiver.connect()
        cpu, wall = time.process_time(), time.perf_counter()
        got = 0
        while got < n:
            moved = await receiver.receive(timeout=1.0)
            if not moved:
                break
            got += moved
        spent = (time.process_time() - cpu, time.perf_counter() - wall)
        await receiver.close()
        return spent

    publish_cpu, publish_wall, nats_cpu = asyncio.run(publish())
    receive_cpu, receive_wall = asyncio.run(receive())
    arrived = _count(sc, Incoming) - before_in
    ms = 1000.0 / n
    return {
        "cases": n,
        "arrived": arrived,
        "filing_cpu_ms": filing_cpu * ms,
        "of_which_routing_hook_cpu_ms": hook_cpu[0] * ms,
        "filing_per_s": n / filing_wall,
        "sealing_cpu_ms": seal_cpu * ms,
        "sealing_per_s": n / seal_wall,
        "publish_incl_sealing_cpu_ms": publish_cpu * ms,
        "nats_server_cpu_ms": nats_cpu * ms,
        "publish_per_s": n / publish_wall,
        "receive_apply_cpu_ms": receive_cpu * ms,
        "receive_apply_per_s": arrived / receive_wall,
    }


def main(argv: list[str] | None = None) -> None:
    """Both benchmarks (defaults when run by `python -m bench`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=250.0)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--skip", choices=("transfer", "edge"), default=None)
    parser.add_argument("--stages", type=int, default=0, help="only the stages, with N cases")
    parser.add_argument("--filers", type=int, default=1, help="filing processes (transfer)")
    args = parser.parse_args(argv or [])
    cases_service.before_act(federation.guard)
    cases_service.on_changed(federation.changed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = NatsServer(port=free_port(), store_dir=root / "nats").start()
        try:
            nodes = _nodes(root, args.backend)
            fed = federation.FederationSettings(nats_url=server.url, stream="BENCH_FED")
            print("load average", _load())
            if args.stages:
                pid = server.process.pid if server.process else None
                print("stages", args.backend, stages(nodes, fed, args.stages, pid))
                print("load average", _load())
                return
            if args.skip != "transfer":
                result = transfer(nodes, fed, args.cases, args.rate, args.filers)
                print("transfer", args.backend, f"{args.filers} filers", result)
                print("load average", _load())
            if args.skip != "edge":
                print("edge backlog", args.backend, edge_backlog(nodes, fed, args.backlog))
                print("load average", _load())
        finally:
            server.stop()


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
