"""E-licence benchmarks (issue #17), one thread (one core), CPU time beside wall time.

- sign: a 社会保障卡 SD-JWT VC built and signed (claims, 3 personal + 3 surface disclosures, 2
  decoys, Ed25519 by joserfc) — the issuer's work per licence, without the database;
- issue: the same through `credentials.issue` on SQLite, each in its own unit of work (status
  slot, row, event, commit) — what issuing at completion costs the node;
- verify: a selective presentation verified against the trust list (key lookup, signature,
  disclosures, dates) and its status looked up in the cached, already checked status list;
- status list: a list of 1,000,000 entries (10,000 revoked or suspended) built from the
  database and signed by the app, fetched over the app's HTTP route (in process), and
  checked by a verifier (signature, zlib, the entry's two bits): cold (first fetch, the
  token signed) and warm (cached token).

Targets: sign/issue >= 1,000/s, verify >= 2,000/s on one core; the 1,000,000-entry status list
fetched and checked <= 50 ms. Environment: TONGBAN_BENCH_CREDENTIALS_N (default 3000).
"""

from __future__ import annotations

import datetime
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from joserfc.jwk import OKPKey

from bench._cpu import reference_loop_seconds
from tongban.credentials import licences, sdjwt, statuslist
from tongban.credentials.issuing import Subject, build
from tongban.identity.service import DepartmentView

N = int(os.environ.get("TONGBAN_BENCH_CREDENTIALS_N", "3000"))
PG_URL = os.environ.get(
    "TONGBAN_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
DEPARTMENT = DepartmentView(
    id=1,
    code="11511600MB0150229L",
    name="广安市人力资源和社会保障局",
    region_code="511600",
    parent_id=None,
)
SUBJECT = Subject(
    name="王建国",
    code="511602195003150112",
    code_type="111",
    birth_date=datetime.date(1950, 3, 15),
    sex="男",
)


def _rate(label: str, n: int, wall: float, cpu: float) -> str:
    each = cpu / n * 1e6
    rates = f"{n / wall:,.0f}/s wall, {n / cpu:,.0f}/s per CPU second"
    return f"{label}: {rates} ({each:,.0f} µs CPU each)"


def bench_sign_and_verify() -> list[str]:
    """Issue (build and sign) and verify, in memory, one thread."""
    key = OKPKey.generate_key("Ed25519")
    kind = licences.for_item("101110006000")
    assert kind is not None
    issued = datetime.datetime.now(datetime.UTC)
    started, cpu0 = time.perf_counter(), time.process_time()
    tokens = []
    for serial in range(N):
        token, *_ = build(
            kind=kind,
            serial=serial + 1,
            subject=SUBJECT,
            department=DEPARTMENT,
            kid=f"{DEPARTMENT.code}:k1",
            key=key,
            iss="https://tongban.example",
            status_uri="https://tongban.example/api/v1/credentials/status-lists/1",
            status_index=serial,
            form={"bank": "中国农业银行"},
            issued=issued,
        )
        tokens.append(token)
    sign = _rate(
        "sign (build + Ed25519)", N, time.perf_counter() - started, time.process_time() - cpu0
    )

    from tongban.credentials.verifying import TrustList

    uri = "https://tongban.example/api/v1/credentials/status-lists/1"
    compressed = statuslist.encode(131072, [(5, 1)])
    trust = TrustList(
        {
            "format": "tongban-credential-trust-list/1",
            "issuer": "https://tongban.example",
            "keys": [
                {
                    "kid": f"{DEPARTMENT.code}:k1",
                    "jwk": key.as_dict(private=False),
                    "department_code": DEPARTMENT.code,
                    "retired_at": None,
                }
            ],
            "status_lists": {
                "1": statuslist.make_token(
                    key=key, kid=f"{DEPARTMENT.code}:k1", uri=uri, compressed=compressed
                )
            },
        }
    )
    shown = [sdjwt.present(t, keep=["birth_date", "bank"]) for t in tokens]
    assert trust.check(shown[0]).valid
    started, cpu0 = time.perf_counter(), time.process_time()
    for text in shown:
        verdict = trust.check(text)
    assert verdict.valid
    verify = _rate(
        "verify (presentation + status)",
        N,
        time.perf_counter() - started,
        time.process_time() - cpu0,
    )
    return [sign, verify]


@contextmanager
def _database_url(backend: str, tmp: Path) -> Iterator[str]:
    """A new, migrated database: a file on SQLite, its own database on PostgreSQL."""
    from sqlalchemy import create_engine, text

    from tongban.platform.db import upgrade_database

    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade_database(url)
        yield url
        return
    name = f"bench_credentials_{os.getpid()}"
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


def bench_issue_and_status(tmp: Path, backend: str) -> list[str]:
    """Issuing through the service, and the 1,000,000-entry status list, on one backend."""
    from fastapi.testclient import TestClient
    from sqlalchemy import insert, select, update

    from tongban.credentials import service as credentials
    from tongban.credentials.models import Credential, StatusListRow
    from tongban.identity import service as identity
    from tongban.identity.callers import actor_for
    from tongban.identity.models import Account
    from tongban.platform.config import Settings
    from tongban.platform.db import Database
    from tongban.regions import service as regions
    from tongban.shell.app import create_app

    with _database_url(backend, tmp) as url:
        settings = Settings(data_dir=tmp, database_url=url)
        database = Database(url)
        with database.session_scope() as session:
            regions.load_builtin(session)
        with database.session_scope() as session:
            identity.create_demo_accounts(session, settings=settings)
        with database.session_scope() as session:
            official = session.scalar(select(Account).where(Account.username == "official"))
            citizen = session.scalar(select(Account).where(Account.username == "citizen"))
            assert official is not None and citizen is not None
            actor = actor_for(official)
            holder_id = citizen.id
            assert official.department_id is not None
            department_id = official.department_id
        kind = licences.for_item("101110006000")
        assert kind is not None
        n = max(N // 3, 200) // 100 * 100
        form = {"bank": "中国农业银行"}

        def one_by_one(per_commit: int) -> tuple[float, float]:
            started, cpu0 = time.perf_counter(), time.process_time()
            for _ in range(n // per_commit):
                with database.session_scope() as session:
                    for _ in range(per_commit):
                        credentials.issue(
                            session,
                            kind=kind,
                            holder_id=holder_id,
                            department_id=department_id,
                            form=form,
                            settings=settings,
                        )
            return time.perf_counter() - started, time.process_time() - cpu0

        def batched(size: int) -> tuple[float, float]:
            grants = [credentials.Grant(holder_id=holder_id, form=form)] * size
            started, cpu0 = time.perf_counter(), time.process_time()
            for _ in range(n // size):
                with database.session_scope() as session:
                    credentials.issue_many(
                        session,
                        kind=kind,
                        department_id=department_id,
                        grants=grants,
                        settings=settings,
                    )
            return time.perf_counter() - started, time.process_time() - cpu0

        one_by_one(1)  # warm up: the key made and unsealed, the first list
        lines = [
            _rate(f"[{backend}] issue, one commit each", n, *one_by_one(1)),
            _rate(f"[{backend}] issue one by one, 100 per commit", n, *one_by_one(100)),
            _rate(f"[{backend}] issue_many, batches of 100 (one commit each)", n, *batched(100)),
            _rate(f"[{backend}] issue, one commit each (again)", n, *one_by_one(1)),
        ]

        # A list of 1,000,000 entries with 10,000 not valid.
        size, marked = 1_000_000, 10_000
        with database.session_scope() as session:
            department = identity.get_department(session, department_id=department_id)
            listing = StatusListRow(
                department_id=department.id,
                department_code=department.code,
                size=size,
                next_index=size,
                version=1,
            )
            session.add(listing)
            session.flush()
            list_id = listing.id
            now = datetime.datetime.now(datetime.UTC)
            session.execute(
                insert(Credential),
                [
                    {
                        "licence_id": f"bench-{i}",
                        "type_code": kind.type_code,
                        "vct": kind.vct,
                        "holder_id": holder_id,
                        "department_id": department.id,
                        "department_code": department.code,
                        "department_name": department.name,
                        "kid": "bench",
                        "list_id": list_id,
                        "list_index": i * 97,
                        "status": "revoked" if i % 2 else "suspended",
                        "issued_at": now,
                        "valid_from": now.date(),
                        "updated_at": now,
                    }
                    for i in range(marked)
                ],
            )
        with database.session_scope() as session:
            changing = session.scalar(
                select(Credential.id).where(
                    Credential.list_id == list_id, Credential.list_index == 97 * 2
                )
            )
        assert changing is not None
        app = create_app(settings, database)
        client = TestClient(app)
        with database.session_scope() as session:
            jwks = credentials.issuer_metadata(session, settings=settings)["jwks"]["keys"]
        keys = {k["kid"]: OKPKey.import_key(k) for k in jwks}
        base = settings.public_base_url or f"https://{settings.node_name}"
        uri = f"{base}/api/v1/credentials/status-lists/{list_id}"
        timings: dict[str, list[float]] = {"changed here": [], "changed elsewhere": [], "warm": []}
        signed: list[int] = []

        def fetch(label: str, expected: str) -> None:
            started = time.perf_counter()
            answer = client.get(f"/api/v1/credentials/status-lists/{list_id}")
            token = answer.text
            checked = statuslist.check_token(
                token, key=keys[statuslist.unverified_kid(token)], uri=uri
            )
            assert checked.status(97) == "revoked" and checked.status(1) == "valid"
            assert checked.status(97 * 2) == expected
            timings[label].append((time.perf_counter() - started) * 1000)
            signed.append(len(token))

        fetch("warm", "suspended")  # the first fetch builds the array
        for round_ in range(7):
            # A status change through the service (this process): the next fetch re-signs.
            action, expected = (
                ("reinstate", "valid") if round_ % 2 == 0 else ("suspend", "suspended")
            )
            with database.session_scope() as session:
                credentials.change_status(
                    session, actor=actor, credential_id=changing, action=action, reason="核查"
                )
            fetch("changed here", expected)
            fetch("warm", expected)
            # A change by another process (the version moved without this one): rebuilt.
            with database.session_scope() as session:
                session.execute(
                    update(StatusListRow)
                    .where(StatusListRow.id == list_id)
                    .values(version=StatusListRow.version + 1)
                )
            fetch("changed elsewhere", expected)
        client.close()
        database.dispose()
    return [
        *lines,
        f"[{backend}] status list of {size:,} entries ({marked:,} not valid, {signed[-1]:,} "
        "bytes signed), fetched and checked (medians of 7): "
        f"{statistics.median(timings['changed here']):.1f} ms after a status change by this "
        f"process, {statistics.median(timings['changed elsewhere']):.1f} ms after a change by "
        f"another (rebuilt from the database), {statistics.median(timings['warm']):.1f} ms warm",
    ]


def main() -> None:
    """Run the e-licence benchmarks and print the figures."""
    print(f"reference loop: {reference_loop_seconds():.2f} s; load average {os.getloadavg()}")
    for line in bench_sign_and_verify():
        print(line)
    for backend in ("sqlite", "postgresql"):
        print(f"load average: {os.getloadavg()}")
        with tempfile.TemporaryDirectory() as tmp:
            for line in bench_issue_and_status(Path(tmp), backend):
                print(line, flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
    sys.exit(0)
