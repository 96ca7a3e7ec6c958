"""Storing one new row: the ORM's unit of work against tongban.db.insert_now.

One transaction per row, a case row as a submission makes it, on SQLite and PostgreSQL:
`session.add(); flush()`, the same inside a savepoint (how a keyed submission guarded against a
concurrent retry before), and `insert_now` (a cached Core INSERT ... ON CONFLICT DO NOTHING ...
RETURNING, the object attached as persistent). CPU time of this process per transaction, best
of three rounds; the ratios are what matter on a noisy machine.

Run: `python -m bench orm_insert`, or `python -m bench.orm_insert --backend sqlite --rows 300`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from bench.cases_submit import Target, _seed
from tongban.platform.config import Settings
from tongban.platform.db.fastpath.rows import insert_now


def _case_values(target: Target, settings: Settings, citizen_id: int) -> dict[str, Any]:
    """The column values of a real submitted case, to copy."""
    from tongban.cases import intake
    from tongban.cases.models import Case
    from tongban.cases.schemas import CaseCreate
    from tongban.identity.policy import Actor, Role

    actor = Actor(account_id=citizen_id, username="bench-citizen", role=Role.CITIZEN)
    data = CaseCreate(implementation="TEST-HUJI-440305", form={})
    with target.database.session_scope() as session:
        case, _ = intake.submit(session, actor=actor, data=data, settings=settings)
        return {
            p.key: getattr(case, p.key)
            for p in sa_inspect(Case).column_attrs
            if p.key not in ("id", "version")
        }


def run(backend: str, rows: int) -> dict[str, float]:
    """CPU milliseconds per one-row transaction for each way of storing it."""
    from tongban.cases.models import Case

    with tempfile.TemporaryDirectory() as tmp:
        target = Target(backend, Path(tmp))
        try:
            settings = Settings(data_dir=Path(tmp) / "var", database_url=target.url)
            seeded = _seed(target, settings)
            template = _case_values(target, settings, seeded["citizen_id"])

            def new_case() -> Case:
                values = dict(template, number=uuid.uuid4().hex[:24])
                values["idempotency_key"] = uuid.uuid4().hex
                return Case(**values, materials=[], steps=[], pauses=[])

            def unit_of_work(session: Session) -> None:
                session.add(new_case())
                session.flush()

            def in_savepoint(session: Session) -> None:
                with session.begin_nested():
                    session.add(new_case())

            def core(session: Session) -> None:
                insert_now(session, new_case(), unless_duplicate=("filed_by_id", "idempotency_key"))

            def nothing(session: Session) -> None:
                session.connection()

            ways: dict[str, Callable[[Session], None]] = {
                "empty transaction": nothing,
                "add + flush": unit_of_work,
                "add in a savepoint": in_savepoint,
                "insert_now": core,
            }
            result: dict[str, float] = {}
            for name, way in ways.items():
                best = float("inf")
                for _ in range(3):
                    started = time.process_time()
                    for _ in range(rows):
                        with target.database.session_scope() as session:
                            way(session)
                    best = min(best, (time.process_time() - started) / rows * 1000)
                result[name] = best
            return result
        finally:
            target.drop()


def main(argv: list[str] | None = None) -> None:
    """Print CPU ms per transaction for each way, on each backend."""
    parser = argparse.ArgumentParser(prog="bench.orm_insert")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rows", type=int, default=300)
    args = parser.parse_args(argv if argv is not None else [])
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        result = run(backend, args.rows)
        base = result["add in a savepoint"]
        for name, ms in result.items():
            print(f"{backend}: {name}: {ms:.3f} ms CPU per transaction ({ms / base:.2f}x)")


if __name__ == "__main__":
    main(sys.argv[1:])
