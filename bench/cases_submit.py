"""Cases benchmarks through HTTP on loopback with the real server (uvicorn as a subprocess).

1. Submissions without files (a citizen's application with a unique Idempotency-Key each), from
   a load generator in its own process (`wrk` with a Lua script when installed, `apt-get install
   wrk`; else an httpx client in a subprocess): throughput and p50/p99 latency.
   Targets: >= 300/s, p99 <= 100 ms. The server runs `--workers` uvicorn processes (default 2,
   one per core of the reference machine), as `tongban serve --workers N` does.
2. An official's queue page with N synthetic cases bulk-inserted by SQL (default 1,000,000):
   p50/p95 latency of GET /api/v1/queue. Target: p95 <= 50 ms.

Run: `python -m bench cases_submit`, or `python -m bench.cases_submit --backend postgresql
--queue-cases 1000000 --workers 2 --duration 20`. Loopback only; counts and durations are bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import Table, create_engine, insert, text

from bench._cpu import cpu_seconds, postgres_processes, reference_loop_seconds, tree_of
from tongban.platform.config import Settings
from tongban.platform.db import Database, make_engine, upgrade_database

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "tests" / "cases" / "fixture_catalog.yaml"
POSTGRES_URL = os.environ.get(
    "TONGBAN_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Target:
    """A migrated throw-away database (SQLite file or PostgreSQL schema) and its URL."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.schema: str | None = None
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp / 'bench.db'}"
            upgrade_database(self.url)
            self.database = Database(self.url)
        else:
            self.schema = f"tb_bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(POSTGRES_URL)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            # The server subprocess finds the schema through the URL's search_path option.
            self.url = f"{POSTGRES_URL}?options=-csearch_path%3D{self.schema}"
            engine = make_engine(
                POSTGRES_URL, connect_args={"options": f"-csearch_path={self.schema}"}
            )
            upgrade_database(POSTGRES_URL, engine=engine)
            self.database = Database(POSTGRES_URL, engine=engine)

    def drop(self) -> None:
        """Remove the PostgreSQL schema (the SQLite file goes with the temp dir)."""
        self.database.dispose()
        if self.schema:
            admin = create_engine(POSTGRES_URL)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            admin.dispose()


def _seed(target: Target, settings: Settings) -> dict[str, Any]:
    """Regions, the fixture catalog with its departments, one citizen and one official."""
    from tongban.catalog import service as catalog
    from tongban.identity import api_tokens
    from tongban.identity import service as identity
    from tongban.regions import service as regions

    document = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    with target.database.session_scope() as session:
        regions.load_builtin(session)
        for item in document["items"]:
            for impl in item.get("implementations", []):
                for body in [impl["authority"], *impl.get("co_handlers", [])]:
                    identity.ensure_department(
                        session,
                        code=body["code"],
                        name=body["name"],
                        region_code=str(body.get("region", impl["region"])),
                    )
        catalog.import_document(session, data=document, source="bench")
        citizen = identity.create_account(
            session,
            username="bench-citizen",
            password="bench password 1",
            role="citizen",
            resident_id=identity.make_resident_id(
                region_code="440305", birth=date(1970, 1, 1), sequence=11
            ),
            settings=settings,
        )
        official = identity.create_account(
            session,
            username="bench-official",
            password="bench password 1",
            role="official",
            department_code="11440305MB0000003D",
            region_code="440305",
            settings=settings,
        )
        tokens = {
            "citizen": api_tokens.issue_api_token(
                session, account_id=citizen.id, name="bench", settings=settings
            ).token,
            "official": api_tokens.issue_api_token(
                session, account_id=official.id, name="bench", settings=settings
            ).token,
        }
        department_id = identity.get_department_by_code(session, code="11440305MB0000003D").id
    return {"tokens": tokens, "department_id": department_id, "citizen_id": citizen.id}


# The server process: uvicorn with N worker processes, as `tongban serve --workers N` runs it.
_SERVE = """
import sys
from tongban.shell.cli import run_server
run_server("tongban.shell.app:create_app", host="127.0.0.1", port=int(sys.argv[1]),
           workers=int(sys.argv[2]), log_level="warning")
"""


class Server:
    """uvicorn serving tongban.shell.app:create_app on a loopback port."""

    def __init__(self, target: Target, data_dir: Path, *, workers: int = 2) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "TONGBAN_DATABASE_URL": target.url,
            "TONGBAN_DATA_DIR": str(data_dir),
            "TONGBAN_LEDGER_INTEGRATE_IN_PROCESS": "false",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(self.port), str(workers)],
            env=env,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        """Stop the server subprocess we started."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


_WRK_SCRIPT = r"""
-- One POST /api/v1/cases per request, each with its own Idempotency-Key; counts statuses.
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  token, run, counter, statuses = args[1], args[2], 0, {}
end
function request()
  counter = counter + 1
  local body = '{"implementation":"TEST-HUJI-440305","form":{"n":' .. counter .. '}}'
  return wrk.format("POST", "/api/v1/cases", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = run .. "-" .. tid .. "-" .. counter,
  }, body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local out = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do out[status] = (out[status] or 0) + n end
  end
  io.write(string.format("RESULT %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.timeout
      + summary.errors.connect + summary.errors.read + summary.errors.write))
  for status, n in pairs(out) do io.write(string.format("STATUS %d %d\n", status, n)) end
end
"""


def _submissions_wrk(base: str, token: str, duration: float, concurrency: int) -> dict[str, Any]:
    """wrk (C, one thread) as the load generator: it costs the server's cores almost nothing."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_WRK_SCRIPT)
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "30s",
                "-s",
                f.name,
                base,
                "--",
                token,
                uuid.uuid4().hex[:8],
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + 120,
        ).stdout
    finally:
        os.unlink(f.name)
    fields = next(line for line in out.splitlines() if line.startswith("RESULT")).split()
    requests, micros, p50, p99, socket_errors = (int(x) for x in fields[1:])
    failures: dict[int, int] = {}
    for line in out.splitlines():
        if line.startswith("STATUS"):
            _, status, n = line.split()
            if int(status) != 201:
                failures[int(status)] = int(n)
    if socket_errors:
        failures[0] = socket_errors
    return {
        "client": "wrk",
        "count": requests,
        "concurrency": concurrency,
        "per_second": requests / (micros / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "failures": failures,
    }


async def _submissions(base: str, token: str, count: int, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    failures: dict[int, int] = {}
    run = uuid.uuid4().hex[:8]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            while True:
                try:
                    n = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                r = await client.post(
                    "/api/v1/cases",
                    json={"implementation": "TEST-HUJI-440305", "form": {"n": n}},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"{run}-{n}"},
                )
                latencies.append(time.perf_counter() - started)
                if r.status_code != 201:
                    failures[r.status_code] = failures.get(r.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "client": "httpx",
        "count": count,
        "concurrency": concurrency,
        "per_second": count / elapsed,
        "p50_ms": _pct(latencies, 50) * 1000,
        "p99_ms": _pct(latencies, 99) * 1000,
        "failures": failures,
    }


def _httpx_client_process(base: str, token: str, count: int, concurrency: int) -> dict[str, Any]:
    """The httpx client in its own process, so its CPU is not the server's."""
    code = (
        "import json, sys, asyncio; from bench.cases_submit import _submissions; "
        "print(json.dumps(asyncio.run(_submissions(sys.argv[1], sys.argv[2], "
        "int(sys.argv[3]), int(sys.argv[4])))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, base, token, str(count), str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=600,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["failures"] = {int(k): v for k, v in result["failures"].items()}
    return result


def submissions(
    base: str, token: str, *, client: str, count: int, duration: float, concurrency: int
) -> dict[str, Any]:
    """Measure submissions with the chosen load generator ("wrk" or "httpx")."""
    if client == "wrk":
        return _submissions_wrk(base, token, duration, concurrency)
    return _httpx_client_process(base, token, count, concurrency)


def _bulk_cases(target: Target, *, total: int, department_id: int, citizen_id: int) -> float:
    """Insert `total` synthetic cases spread over 200 departments; return seconds taken."""
    from tongban.cases.models import Case

    rng = random.Random(7)
    table: Table = Case.__table__  # type: ignore[assignment]
    now = datetime.now(UTC)
    today = now.date()
    states = ["received", "accepted", "accepted", "supplement_requested", "completed", "completed"]
    started = time.perf_counter()
    batch = 20_000
    with target.database.engine.begin() as conn:
        for first in range(0, total, batch):
            rows = []
            for n in range(first, min(total, first + batch)):
                state = states[n % len(states)]
                dept = department_id if n % 200 == 0 else 100_000 + n % 199
                due = today + timedelta(days=rng.randint(-10, 40))
                rows.append(
                    {
                        "number": f"440300-20260101-{n:012d}",
                        "kind": "single",
                        "item_code": "TEST-HUJI-PROOF",
                        "item_name": "开具户籍类证明",
                        "implementation_code": "TEST-HUJI-440305",
                        "case_type": "承诺件",
                        "department_id": dept,
                        "authority_code": "11440305MB0000003D",
                        "authority_name": "深圳市公安局南山分局",
                        "authority_region": "440305",
                        "applicant_id": citizen_id,
                        "applicant_name": "synthetic",
                        "filed_by_id": citizen_id,
                        "filed_by_role": "citizen",
                        "channel": "online",
                        "identity_confirmed": False,
                        "form_data": {},
                        "state": state,
                        "acceptance_limit": 5,
                        "promised_value": 10,
                        "promised_unit": "working_days",
                        "statutory_value": 15,
                        "statutory_unit": "working_days",
                        "received_at": now,
                        "acceptance_due": due,
                        "due_date": None if state == "completed" else due,
                        "acceptance_paused_wd": 0,
                        "acceptance_paused_nd": 0,
                        "handling_paused_wd": 0,
                        "handling_paused_nd": 0,
                        "missing": [],
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            conn.execute(insert(table), rows)
    if target.backend == "postgresql":
        with target.database.engine.begin() as conn:
            conn.execute(text("ANALYZE cases"))
    return time.perf_counter() - started


def _queue_latency(base: str, token: str, requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    shown = 0
    with httpx.Client(base_url=base, timeout=30) as client:
        headers = {"Authorization": f"Bearer {token}"}
        for n in range(requests):
            params: dict[str, Any] = {"limit": 50}
            if n % 3 == 1:
                params["state"] = "accepted"
            if n % 3 == 2:
                params["offset"] = 50
            started = time.perf_counter()
            r = client.get("/api/v1/queue", params=params, headers=headers)
            latencies.append(time.perf_counter() - started)
            r.raise_for_status()
            shown = max(shown, len(r.json()["items"]))
    return {
        "requests": requests,
        "p50_ms": _pct(latencies, 50) * 1000,
        "p95_ms": _pct(latencies, 95) * 1000,
        "page_size": shown,
    }


def _per_request(before: float | None, after: float | None, count: int) -> float | None:
    """CPU milliseconds per request between two readings (None without /proc)."""
    if before is None or after is None or not count:
        return None
    return (after - before) * 1000 / count


def run(
    backend: str,
    *,
    submissions_count: int,
    duration: float,
    concurrency: int,
    queue_cases: int,
    workers: int = 2,
    client: str = "wrk",
) -> dict[str, Any]:
    """One backend: submissions, then the queue with bulk-inserted cases."""
    result: dict[str, Any] = {"backend": backend, "workers": workers}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        target = Target(backend, tmp_path)
        try:
            settings = Settings(data_dir=tmp_path / "var", database_url=target.url)
            seeded = _seed(target, settings)
            server = Server(target, tmp_path / "var", workers=workers)
            try:
                token = seeded["tokens"]["citizen"]
                # Warm-up: every worker imports lazily and fills its caches.
                submissions(server.base, token, client=client, count=100, duration=2, concurrency=4)
                server_cpu = cpu_seconds(tree_of(server.process.pid))
                database_cpu = cpu_seconds(postgres_processes) if backend != "sqlite" else None
                result["submit"] = submit = submissions(
                    server.base,
                    token,
                    client=client,
                    count=submissions_count,
                    duration=duration,
                    concurrency=concurrency,
                )
                submit["server_cpu_ms"] = _per_request(
                    server_cpu, cpu_seconds(tree_of(server.process.pid)), submit["count"]
                )
                if database_cpu is not None:
                    submit["database_cpu_ms"] = _per_request(
                        database_cpu, cpu_seconds(postgres_processes), submit["count"]
                    )
                if queue_cases:
                    # wrk stops at its deadline with requests in flight: let them finish before
                    # the bulk insert takes the database's write lock for minutes.
                    time.sleep(3)
                    result["bulk_insert_s"] = _bulk_cases(
                        target,
                        total=queue_cases,
                        department_id=seeded["department_id"],
                        citizen_id=seeded["citizen_id"],
                    )
                    result["queue_cases"] = queue_cases
                    _queue_latency(server.base, seeded["tokens"]["official"], 20)
                    result["queue"] = _queue_latency(server.base, seeded["tokens"]["official"], 300)
            finally:
                server.stop()
        finally:
            target.drop()
    return result


def _cpu_note(submit: dict[str, Any]) -> str:
    parts = [
        f"{label} {submit[key]:.2f} ms"
        for label, key in (("server", "server_cpu_ms"), ("database", "database_cpu_ms"))
        if submit.get(key) is not None
    ]
    return f"; CPU per submission: {', '.join(parts)}" if parts else ""


def main(argv: list[str] | None = None) -> None:
    """Run the cases benchmarks and print the figures."""
    parser = argparse.ArgumentParser(prog="bench.cases_submit")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--client",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator, in its own process (default: wrk when installed)",
    )
    parser.add_argument("--duration", type=float, default=20, help="seconds of submissions (wrk)")
    parser.add_argument(
        "--submissions", type=int, default=2000, help="number of submissions (httpx)"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--workers", type=int, default=2, help="uvicorn worker processes of the server"
    )
    parser.add_argument("--queue-cases", type=int, default=1_000_000)
    args = parser.parse_args(argv if argv is not None else [])
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(
        f"machine: 10M pure-Python additions take {reference_loop_seconds():.2f} s; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for backend in backends:
        r = run(
            backend,
            submissions_count=args.submissions,
            duration=args.duration,
            concurrency=args.concurrency,
            queue_cases=args.queue_cases,
            workers=args.workers,
            client=args.client,
        )
        s = r["submit"]
        print(
            f"{backend}: submit {s['count']} x{s['concurrency']} ({s['client']}, "
            f"{r['workers']} workers): {s['per_second']:.0f}/s, "
            f"p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, failures {s['failures']}"
            + _cpu_note(s),
            flush=True,
        )
        if "queue" in r:
            q = r["queue"]
            print(
                f"{backend}: queue with {r['queue_cases']:,} cases "
                f"(bulk insert {r['bulk_insert_s']:.0f} s): p50 {q['p50_ms']:.1f} ms, "
                f"p95 {q['p95_ms']:.1f} ms ({q['requests']} requests, {q['page_size']} rows/page)",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1:])
