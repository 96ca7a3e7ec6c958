"""Exchange benchmarks (issue #15): signed fetches from one node to a provider node over
loopback HTTP, and the policy engine alone.

Node B (the provider) runs in its own process under uvicorn; node A (the consumer) runs the
whole fetch of `POST /api/v1/cases/{n}/data-fetches` in THREADS worker threads, each a unit of
work: the case checked, the agreement decided by Cedar, the request signed (RFC 9421, Ed25519),
B verifying it against its directory, deciding its own agreement, answering from its table and
signing the answer, A verifying that, both logging the message by its hashes with an event.
Targets: >= 300 fetches/s with p99 <= 50 ms; policy evaluation p99 <= 1 ms.

Environment: TONGBAN_BENCH_EXCHANGE_SECONDS (default 10), TONGBAN_BENCH_EXCHANGE_THREADS (8),
TONGBAN_BENCH_EXCHANGE_WITHOUT: levers to switch off for an A/B comparison in one window,
comma-separated: `signing` (sign and verify through http_message_signatures only, as before
the direct path), `transport` (send with an httpx client, as before exchange/wire.py's
keep-alive connections), `asgi` (B answers every query down the middleware stack, not on
exchange/provider_fast.py's direct path), `policy` (Cedar asked for every decision, none kept).
`python -m bench.exchange_fetch ab [without ...]` runs them in turn. The policy benchmark
measures the engine itself (`policy.evaluate`).
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import update

from tongban.cases.models import Case
from tongban.exchange import fetch, nodes, policy
from tongban.exchange.models import DataResource
from tongban.identity import service as identity
from tongban.identity.callers import actor_for
from tongban.identity.models import Account
from tongban.platform.config import Settings
from tongban.platform.db import Database, upgrade_database

SECONDS = float(os.environ.get("TONGBAN_BENCH_EXCHANGE_SECONDS", "10"))
THREADS = int(os.environ.get("TONGBAN_BENCH_EXCHANGE_THREADS", "8"))
PROCESSES = int(os.environ.get("TONGBAN_BENCH_EXCHANGE_PROCESSES", "1"))
LEVERS = ("signing", "transport", "asgi", "policy")


def _without(levers: str) -> None:
    """Switch levers off in this process (the A side of an A/B comparison)."""
    from tongban.exchange import remote, signing, wire

    off = {name.strip() for name in levers.split(",") if name.strip()}
    unknown = off - set(LEVERS)
    if unknown:
        raise SystemExit(f"unknown lever(s): {sorted(unknown)}; known: {LEVERS}")
    if "signing" in off:
        signing._fast_sign = lambda *_a, **_k: False
        signing._fast_verify = lambda *_a, **_k: None
    if "transport" in off:
        import httpx

        client = httpx.Client(limits=httpx.Limits(max_connections=40, max_keepalive_connections=20))

        def send(request: wire.Request, *, timeout: float) -> httpx.Response:
            asked = httpx.Request(
                request.method, request.url, content=request.content, headers=request.headers
            )
            asked.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
            try:
                return client.send(asked)
            except httpx.TimeoutException:
                raise remote.Unreachable(timed_out=True) from None
            except httpx.HTTPError:
                raise remote.Unreachable(timed_out=False) from None

        remote.send = send  # type: ignore[assignment]
    if "asgi" in off:
        from tongban.exchange import provider_fast

        provider_fast.takes = lambda scope: False
    if "policy" in off:
        from tongban.exchange import policy

        policy.decide = policy.evaluate


def _node(folder: Path, *, name: str, region: str, port: int) -> tuple[Database, Settings]:
    from tongban.shell.cli import load_demo_data

    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'node.db'}"
    upgrade_database(url)
    settings = Settings(
        data_dir=folder,
        database_url=url,
        node_name=name,
        node_region=region,
        public_base_url=f"http://127.0.0.1:{port}",
    )
    database = Database(url)
    load_demo_data(database, settings=settings)
    return database, settings


def _serve(folder: str, name: str, region: str, port: int, without: str = "") -> None:
    """One worker process of the provider node: uvicorn on a socket that the node's other
    workers bind too (SO_REUSEPORT: the kernel shares the connections among them, as
    `tongban serve --workers N` shares one socket)."""
    import socket

    import uvicorn

    _without(without)

    from tongban.shell.app import create_app

    url = f"sqlite:///{Path(folder) / 'node.db'}"
    settings = Settings(data_dir=Path(folder), database_url=url, node_name=name, node_region=region)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        create_app(settings, Database(url)), log_level="warning", access_log=False
    )
    uvicorn.Server(config).run(sockets=[sock])


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _open_case(database: Database) -> tuple[str, Account]:
    with database.session_scope() as session:
        official = identity.find_account_by_username(session, username="official")
        citizen = identity.find_account_by_username(session, username="citizen")
        assert official is not None and citizen is not None
        department = identity.get_department(session, department_id=official.department_id or 0)
        now = datetime.datetime.now(datetime.UTC)
        session.add(
            Case(
                number="440300-20261130-BENCH0000001",
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
                received_at=now,
                accepted_at=now,
                acceptance_due=now.date(),
                missing=[],
            )
        )
        account = session.get(Account, official.id)
        assert account is not None
        session.expunge(account)
        return "440300-20261130-BENCH0000001", account


def fetches(without: str = "") -> dict[str, float]:
    """Signed fetches A -> B for SECONDS with THREADS threads: rate and latency (with the
    levers named in `without` switched off on both nodes). Each node runs PROCESSES worker
    processes; A's threads are shared among its processes."""
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="tongban-exchange-bench-") as tmp:
        port_b = _free_port()
        db_a, settings_a = _node(Path(tmp) / "a", name="gd.node", region="440300", port=0)
        db_b, settings_b = _node(Path(tmp) / "b", name="sc.node", region="511600", port=port_b)
        with db_a.session_scope() as session:
            nodes.put_node(
                session,
                entry=nodes.this_node(settings_b, base_url=f"http://127.0.0.1:{port_b}"),
            )
            session.execute(
                update(DataResource)
                .where(DataResource.code == "RS-YLBX-001")
                .values(endpoint="sc.node")
            )
        with db_b.session_scope() as session:
            nodes.put_node(session, entry=nodes.this_node(settings_a, base_url="http://a"))
        db_b.dispose()
        number, _official = _open_case(db_a)
        db_a.dispose()
        servers = [
            context.Process(
                target=_serve,
                args=(str(Path(tmp) / "b"), "sc.node", "511600", port_b, without),
                daemon=True,
            )
            for _ in range(PROCESSES)
        ]
        for server in servers:
            server.start()
        try:
            for server in servers:
                _wait(port_b, server)
            # Every consumer process warms up (connections, caches), then all start together.
            shares = _shares(THREADS, PROCESSES)
            start = context.Barrier(len(shares) + 1)
            results = context.Queue()
            consumers = [
                context.Process(
                    target=_consume,
                    args=(str(Path(tmp) / "a"), number, share, start, without, results),
                )
                for share in shares
            ]
            for consumer in consumers:
                consumer.start()
            start.wait(timeout=300)
            cpu_b = sum(_cpu_seconds(server.pid) for server in servers)
            gathered = [results.get(timeout=120 + SECONDS) for _ in consumers]
            cpu_b = sum(_cpu_seconds(server.pid) for server in servers) - cpu_b
            for consumer in consumers:
                consumer.join(30)
        finally:
            for server in servers:
                server.terminate()
                server.join(10)
    latencies = sorted(latency for mine, _, _ in gathered for latency in mine)
    elapsed = max(took for _, _, took in gathered)
    cpu_a = sum(cpu for _, cpu, _ in gathered)
    return {
        "fetches": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p90_ms": latencies[int(len(latencies) * 0.90) - 1] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max_ms": latencies[-1] * 1000,
        # CPU per fetch of each node (all its processes): what a busy machine does not change
        # much. 2000 / (A + B) is the rate two free cores would allow.
        "cpu_a_ms": cpu_a / len(latencies) * 1000,
        "cpu_b_ms": cpu_b / len(latencies) * 1000,
    }


def _shares(threads: int, processes: int) -> list[int]:
    """THREADS spread over the consumer's processes (4 over 2: 2 and 2; 5: 3 and 2)."""
    return [threads // processes + (1 if i < threads % processes else 0) for i in range(processes)]


def _consume(folder: str, number: str, threads: int, start: Any, without: str, out: Any) -> None:
    """One worker process of node A: `threads` threads fetching for SECONDS once every
    process is warm (`start`, a barrier); puts (latencies, CPU seconds of the window, the
    window's length)."""
    _without(without)
    url = f"sqlite:///{Path(folder) / 'node.db'}"
    settings = Settings(
        data_dir=Path(folder),
        database_url=url,
        node_name="gd.node",
        node_region="440300",
        public_base_url="http://127.0.0.1:0",
    )
    database = Database(url)
    with database.session_scope() as session:
        official = identity.find_account_by_username(session, username="official")
        account = session.get(Account, official.id) if official is not None else None
        assert account is not None
        actor = actor_for(account)

    def one() -> None:
        with database.session_scope() as session:
            fetch.fetch_for_case(
                session,
                actor=actor,
                case_number=number,
                resource_code="RS-YLBX-001",
                fields=None,
                purpose="基准测试",
                settings=settings,
            )

    for _ in range(20):  # warm up: connections, caches
        one()
    start.wait(timeout=300)
    stop = time.monotonic() + SECONDS
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        mine: list[float] = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            one()
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    began, cpu = time.monotonic(), time.process_time()
    running = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    out.put((latencies, time.process_time() - cpu, time.monotonic() - began))
    database.dispose()


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(port: int, server: multiprocessing.process.BaseProcess) -> None:
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and server.is_alive():
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the provider node did not start")


def policy_evaluation(n: int = 20_000) -> dict[str, float]:
    """Cedar decisions for an agreement (parsed once, cached): p50 and p99 in microseconds."""
    now = datetime.datetime.now(datetime.UTC)
    text = policy.agreement_policy(
        agreement_id=1,
        consumer="12511602MB8188247W",
        resource="RS-YLBX-001",
        fields=["holder_name", "paid_months", "insured_since"],
        items=["101110001000"],
        valid_from=now - datetime.timedelta(days=1),
        valid_until=now + datetime.timedelta(days=365),
    )
    times = []
    cpu = []
    for _ in range(n):
        started = time.perf_counter()
        began = time.thread_time()
        policy.evaluate(
            policies=[text],
            consumer="12511602MB8188247W",
            resource="RS-YLBX-001",
            item="101110001000",
            fields=["paid_months"],
            now=now,
        )
        cpu.append(time.thread_time() - began)
        times.append(time.perf_counter() - started)
    times.sort()
    cpu.sort()
    # Wall time includes waiting for a core on a busy machine; CPU time is the engine's cost.
    return {
        "p50_us": times[n // 2] * 1e6,
        "p99_us": times[int(n * 0.99)] * 1e6,
        "cpu_p99_us": cpu[int(n * 0.99)] * 1e6,
    }


def _print_fetches(result: dict[str, float], label: str) -> None:
    print(
        f"exchange signed fetches A->B ({THREADS} threads, {PROCESSES} process(es) a node, "
        f"{SECONDS:g} s, SQLite){label}: "
        f"{result['per_second']:.0f}/s, p50 {result['p50_ms']:.1f} ms, "
        f"p90 {result['p90_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"slowest {result['max_ms']:.0f} ms over {result['fetches']:.0f} fetches "
        f"(target >= 300/s, p99 <= 50 ms); CPU per fetch: A {result['cpu_a_ms']:.2f} ms, "
        f"B {result['cpu_b_ms']:.2f} ms",
        flush=True,
    )


def _in_child(without: str, out: Any) -> None:
    out.put(fetches(without))


def ab(runs: list[str] | None = None) -> None:
    """Each lever switched off in turn, then all on, in one window (each in a fresh process,
    so that nothing switched off lingers); `runs`: the `without` values to run instead."""
    context = multiprocessing.get_context("spawn")
    for without in runs or ["signing,transport", "transport", "signing", ""]:
        queue = context.Queue()
        child = context.Process(target=_in_child, args=(without, queue))
        child.start()
        result = queue.get()
        child.join()
        _print_fetches(result, f" without {without}" if without else " all levers")


def main() -> None:
    """Print both results (`ab`: the A/B comparison of the levers instead)."""
    if sys.argv[1:2] == ["ab"]:  # ab ["signing,transport" "" …]
        ab(sys.argv[2:] or None)
        return
    without = os.environ.get("TONGBAN_BENCH_EXCHANGE_WITHOUT", "")
    evaluation = policy_evaluation()
    print(
        f"exchange policy evaluation: p50 {evaluation['p50_us']:.0f} µs, "
        f"p99 {evaluation['p99_us']:.0f} µs wall, {evaluation['cpu_p99_us']:.0f} µs CPU "
        f"(target p99 <= 1000 µs)"
    )
    _print_fetches(fetches(without), f" without {without}" if without else "")


if __name__ == "__main__":
    main()
