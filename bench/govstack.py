"""The GovStack Registration adapter under a conformance-suite-like load (issue #21).

Target: every answer within 3 s (the building block's conformance suite fails a slower one),
with FILES application files already filed through the adapter. Measured over real HTTP
against a live uvicorn server on SQLite (and PostgreSQL with --backend postgresql): each
endpoint's p50 / p95 / max over REQUESTS calls, including filing an application (a case with
its events) and completing tasks (case transitions).

Run: `python -m bench govstack`, or `python -m bench.govstack --backend postgresql`.
Environment: TONGBAN_BENCH_GOVSTACK_FILES (2000), TONGBAN_BENCH_GOVSTACK_REQUESTS (50),
TONGBAN_BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import create_engine, text

from tongban.platform.config import Settings
from tongban.platform.db import Database, upgrade_database

PG_URL = os.environ.get(
    "TONGBAN_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
FILES = int(os.environ.get("TONGBAN_BENCH_GOVSTACK_FILES", "2000"))
REQUESTS = int(os.environ.get("TONGBAN_BENCH_GOVSTACK_REQUESTS", "50"))
BASE = "/govstack/registration"
HEADERS = {"Information-Mediator-Client": "eGovStack/GOV/90000009/eregistrations-dev"}
MCTS = "f7d33db0-2809-484e-a780-76b7ccd4ecbf"


@contextmanager
def _database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade_database(url)
        yield url
        return
    name = f"bench_govstack_{os.getpid()}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade_database(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _prepare(database: Database, settings: Settings) -> None:
    from tongban.govstack import samples
    from tongban.govstack import service as govstack
    from tongban.regions import service as regions

    with database.session_scope() as session:
        regions.load_builtin(session)
    with database.session_scope() as session:
        samples.load_samples(session, settings=settings)
    started = time.perf_counter()
    with database.session_scope() as session:
        client = govstack.resolve_client(
            session, header=HEADERS["Information-Mediator-Client"], required=True
        )
        for n in range(FILES):
            govstack.file_application(
                session,
                client=client,
                service_id=MCTS,
                # 50 applicants: their accounts (Argon2 hashes) are made once each.
                body={"applicantId": f"bench-{n % 50}", "applicationName": "Bench"},
                settings=settings,
            )
    print(f"{FILES} files filed in {time.perf_counter() - started:.1f} s (seeding, in-process)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _measure(name: str, call: Callable[[int], httpx.Response]) -> float:
    times = []
    for n in range(REQUESTS):
        started = time.perf_counter()
        answer = call(n)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, (name, answer.status_code, answer.text[:200])
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    print(
        f"{name:<44} p50 {1000 * statistics.median(times):7.1f} ms   "
        f"p95 {1000 * p95:7.1f} ms   max {1000 * times[-1]:7.1f} ms"
    )
    return times[-1]


def run(backend: str) -> None:
    """Seed, serve, and time every endpoint."""
    from tongban.shell.app import create_app

    with tempfile.TemporaryDirectory() as folder, _database(backend, Path(folder)) as url:
        port = _free_port()
        settings = Settings(data_dir=Path(folder) / "var", database_url=url, govstack_enabled=True)
        database = Database(url)
        _prepare(database, settings)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, database), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}{BASE}"
        filed: list[str] = []
        try:
            with httpx.Client(base_url=base, headers=HEADERS, timeout=30) as http:

                def file(n: int) -> httpx.Response:
                    answer = http.post(
                        f"/services/{MCTS}/applications", data={"applicantId": f"bench-{n % 50}"}
                    )
                    filed.append(answer.json()["fileId"])
                    return answer

                worst = max(
                    _measure("GET /services", lambda n: http.get("/services")),
                    _measure(
                        "GET /eForms/{id}",
                        lambda n: http.get("/eForms/d98a205a-679b-485b-823d-7a32a391e744"),
                    ),
                    _measure("POST /services/{id}/applications (form)", file),
                    _measure(
                        "GET /applications?maxResult=20",
                        lambda n: http.get(
                            "/applications", params={"maxResult": 20, "firstResult": n}
                        ),
                    ),
                    _measure(
                        "GET /applications (1000, the most a page)",
                        lambda n: http.get("/applications"),
                    ),
                    _measure(
                        "GET /applications/{id}", lambda n: http.get(f"/applications/{filed[n]}")
                    ),
                    _measure(
                        "GET /tasks?fileId=",
                        lambda n: http.get("/tasks", params={"fileId": filed[n]}),
                    ),
                    _measure(
                        "POST /tasks/{id}/complete (accept)",
                        lambda n: http.post(
                            f"/tasks/{filed[n]}.accept/complete", json={"data": {}}
                        ),
                    ),
                    _measure("GET /tasks (every open file)", lambda n: http.get("/tasks")),
                    _measure(
                        "GET /data/statistics/1.0?registrationName=MCTS",
                        lambda n: http.get(
                            "/data/statistics/1.0", params={"registrationName": "MCTS"}
                        ),
                    ),
                )
                print(f"slowest answer: {worst:.2f} s (target: every answer within 3 s)")
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            database.dispose()


def main() -> None:
    """`python -m bench govstack`: SQLite (and PostgreSQL with --backend)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    args, _ = parser.parse_known_args()
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        print(f"### {backend}: {FILES} files, {REQUESTS} requests per endpoint")
        run(backend)


if __name__ == "__main__":
    main()
