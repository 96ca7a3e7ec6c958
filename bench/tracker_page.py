"""The data tracker's first page: a citizen with 10,000 uses of their data, among 1,000,000 uses
in the database (issue #16).

Target: the page (GET /my/data-usage, HTML, newest 20 lines) renders in <= 100 ms p95 on SQLite
and on PostgreSQL. Measured in-process through the app (authentication, the query on the
`data_uses` index (subject, time, id), objections of the lines, the template), plus the JSON API
and the page filtered by department and its second page (cursor).

Run: `python -m bench tracker_page`, or `python -m bench.tracker_page --backend postgresql`.
Environment: TONGBAN_BENCH_TRACKER_USES (1,000,000), TONGBAN_BENCH_TRACKER_MINE (10,000),
TONGBAN_BENCH_TRACKER_REQUESTS (200), TONGBAN_BENCH_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from tongban.consent.tracker_models import DataUse
from tongban.platform.config import Settings
from tongban.platform.db import Database, make_engine, upgrade_database

PG_URL = os.environ.get(
    "TONGBAN_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
USES = int(os.environ.get("TONGBAN_BENCH_TRACKER_USES", "1000000"))
MINE = int(os.environ.get("TONGBAN_BENCH_TRACKER_MINE", "10000"))
REQUESTS = int(os.environ.get("TONGBAN_BENCH_TRACKER_REQUESTS", "200"))
CHUNK = 20000
DEPARTMENTS = [
    ("12511602MB8188247W", "广安区社会保险事业管理局"),
    ("11511600MB01744074", "广安市民政局"),
    ("11511602MB0000011X", "广安区公安分局"),
    ("11511602MB0000022X", "广安区卫生健康局"),
]
ACTIONS = [
    ("exchange.fetched", "fetch", "fetched"),
    ("case.applicant_id_viewed", "id_view", "seen"),
    ("case.material_viewed", "file_open", "seen"),
    ("consent.used", "consent_use", "allowed"),
]


@contextmanager
def _database(backend: str) -> Iterator[Database]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade_database(url)
            db = Database(url)
            try:
                yield db
            finally:
                db.dispose()
        return
    schema = f"bench_tracker_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    upgrade_database(PG_URL, engine=engine)
    db = Database(PG_URL, engine=engine)
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _fill(db: Database, citizen: int) -> float:
    """1,000,000 uses: MINE of the citizen's over two years, the rest of 100,000 others."""
    rng = random.Random(16)
    start = time.perf_counter()
    now = datetime(2026, 11, 30, tzinfo=UTC)
    others = 100_000
    event = 10_000_000
    with db.engine.begin() as conn:
        done = 0
        while done < USES:
            rows = []
            for n in range(done, min(done + CHUNK, USES)):
                action, kind, outcome = ACTIONS[n % len(ACTIONS)]
                code, name = DEPARTMENTS[rng.randrange(len(DEPARTMENTS))]
                subject = citizen if n % (USES // MINE) == 0 else 1_000 + rng.randrange(others)
                event += 1
                rows.append(
                    {
                        "event_id": event,
                        "event_uid": str(uuid.UUID(int=event)),
                        "subject_id": subject,
                        "occurred_at": now - timedelta(seconds=rng.randrange(2 * 365 * 86400)),
                        "action": action,
                        "kind": kind,
                        "department_code": code,
                        "department_name": name,
                        "actor_id": 500 + rng.randrange(50),
                        "actor_role": "official",
                        "actor_name_masked": "李**",
                        "case_number": f"511602-20261102-X{n:011d}",
                        "item_code": "101110001000",
                        "fields": ["holder_name", "paid_months"],
                        "field_labels": ["姓名", "累计缴费月数"],
                        "purpose": "核验参保缴费情况，办理养老保险关系转移",
                        "outcome": outcome,
                    }
                )
            conn.execute(insert(DataUse), rows)
            done += len(rows)
        if db.engine.dialect.name != "postgresql":
            conn.execute(text("ANALYZE"))
    if db.engine.dialect.name == "postgresql":
        # A table in service has been vacuumed; a freshly bulk-loaded one would be measured
        # against autovacuum's first pass instead.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE data_uses"))
    return time.perf_counter() - start


def _timed(client: object, path: str, headers: dict[str, str], n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(path, headers=headers)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text[:300]
    return times


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def run(backend: str) -> dict[str, object]:
    """Fill, then time the page, the API, a filtered page and a second page."""
    from fastapi.testclient import TestClient

    from tongban.identity import api_tokens
    from tongban.identity import service as identity
    from tongban.regions import service as regions
    from tongban.shell.app import create_app

    with _database(backend) as db, tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), database_url=str(db.engine.url))
        with db.session_scope() as session:
            regions.load_builtin(session)
        with db.session_scope() as session:
            identity.create_demo_accounts(session, settings=settings)
        with db.session_scope() as session:
            citizen = identity.find_account_by_username(session, username="citizen")
            assert citizen is not None
            token = api_tokens.issue_api_token(
                session, account_id=citizen.id, name="bench", settings=settings
            ).token
        fill_seconds = _fill(db, citizen.id)
        app = create_app(settings, db)
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/html"}
        with TestClient(app) as client:
            _timed(client, "/my/data-usage", headers, 10)  # warm up
            page = _timed(client, "/my/data-usage", headers, REQUESTS)
            # The same client's cost of any small citizen page (authentication, the layout),
            # to read the tracker's own share against.
            baseline = _timed(client, "/my/messages", headers, REQUESTS)
            api = _timed(client, "/api/v1/my/data-usage", headers, REQUESTS)
            code = DEPARTMENTS[0][0]
            filtered = _timed(client, f"/my/data-usage?department={code}", headers, REQUESTS)
            first = client.get("/api/v1/my/data-usage", headers=headers).json()
            assert len(first["items"]) == 20 and first["next_cursor"]
            second = _timed(
                client, f"/my/data-usage?cursor={first['next_cursor']}", headers, REQUESTS
            )
        with db.engine.connect() as conn:
            total = conn.execute(text("SELECT count(*) FROM data_uses")).scalar()
            mine = conn.execute(
                text("SELECT count(*) FROM data_uses WHERE subject_id = :s"), {"s": citizen.id}
            ).scalar()
    return {
        "backend": backend,
        "uses": total,
        "mine": mine,
        "fill_s": round(fill_seconds, 1),
        **{
            f"{name}_p{q}": round(_p(values, q), 1)
            for name, values in (
                ("page", page),
                ("messages_page", baseline),
                ("api", api),
                ("department", filtered),
                ("second", second),
            )
            for q in (50, 95)
        },
    }


def main(argv: list[str] | None = None) -> None:
    """Run on SQLite and PostgreSQL (or the one named) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv or [])
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"load average before: {os.getloadavg()}")
    for backend in backends:
        result = run(backend)
        print(" ".join(f"{k}={v}" for k, v in result.items()))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
