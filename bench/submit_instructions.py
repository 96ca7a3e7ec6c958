"""Instructions per case submission, counted by callgrind: an A/B that machine noise cannot blur.

CPU time on a shared host varies by ±20 % between runs; the instructions a fixed workload
executes do not. This drives the ASGI app in-process (no sockets, one request at a time:
`POST /api/v1/cases` as the citizen of bench/cases_submit.py) and counts instructions with
`valgrind --tool=callgrind` for two runs of different length on the same prepared database:
their difference, divided by the extra submissions, is the cost of one submission, with
start-up and seeding cancelled out.

    python -m bench.submit_instructions --backend postgresql   # needs valgrind
    python -m bench.submit_instructions --compare OTHER_CHECKOUT  # this code, then the other's

Each checkout (e.g. `git worktree add /tmp/old <commit>`) runs this file with its own `src/`
and `bench/` first on PYTHONPATH (so its own seed and app) and this venv's packages. Seeding
happens outside valgrind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get(
    "TONGBAN_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
WARM = 30  # requests before counting starts to matter: caches, prepared statements, imports


def _app_factory() -> Any:
    """create_app of this checkout (the shell since the layout of issue 11, before: tongban.app)."""
    try:
        from tongban.shell.app import create_app
    except ImportError:  # an older checkout
        from tongban.app import create_app  # type: ignore[no-redef]
    return create_app


def _settings_class() -> Any:
    try:
        from tongban.platform.config import Settings
    except ImportError:  # an older checkout
        from tongban.config import Settings  # type: ignore[no-redef]
    return Settings


def _hold_timed_caches() -> None:
    """Keep what a server re-reads once a second (shared facts) or minute (catalog offers).

    Under valgrind a request takes ~100x longer, so time-based re-reads would happen ~100x
    more often per request than in a real server and the count would depend on the host's
    speed. Both layouts' names are tried.
    """
    import importlib

    for module_name in ("tongban.platform.db.facts", "tongban.facts"):
        try:
            facts = importlib.import_module(module_name)
        except ImportError:
            continue
        for fact in facts._ALL:
            fact.ttl = 1e9
    for module_name in ("tongban.cases.offers", "tongban.cases.intake"):
        module: Any = importlib.import_module(module_name) if _exists(module_name) else None
        if module is not None and hasattr(module, "_OFFER_TTL_SECONDS"):
            module._OFFER_TTL_SECONDS = 1e9


def _exists(module_name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module_name) is not None


def prepare(backend: str, tmp: Path) -> dict[str, Any]:
    """A migrated, seeded database (bench/cases_submit.py's seed) and the citizen's token."""
    from bench.cases_submit import Target, _seed

    settings = _settings_class()(data_dir=tmp / "var")
    target = Target(backend, tmp)
    seeded = _seed(target, settings)
    return {"url": target.url, "schema": target.schema, "token": seeded["tokens"]["citizen"]}


def drive(prepared: dict[str, Any], data_dir: str, count: int) -> None:
    """`count` submissions through the ASGI app, one after the other."""
    import httpx

    settings = _settings_class()(data_dir=Path(data_dir), database_url=prepared["url"])
    app = _app_factory()(settings)
    _hold_timed_caches()

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for n in range(count):
                r = await client.post(
                    "/api/v1/cases",
                    json={"implementation": "TEST-HUJI-440305", "form": {"n": n}},
                    headers={
                        "Authorization": f"Bearer {prepared['token']}",
                        "Idempotency-Key": f"{os.getpid()}-{count}-{n}",
                    },
                )
                if r.status_code != 201:
                    raise SystemExit(f"submission {n}: {r.status_code} {r.text[:200]}")

    asyncio.run(run())


def _instructions(checkout: Path, prepared_file: Path, data_dir: str, count: int) -> int:
    out = Path(tempfile.mkdtemp()) / "callgrind.out"
    env = dict(os.environ, PYTHONPATH=f"{checkout / 'src'}:{checkout}")
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--drive",
            str(prepared_file),
            "--data-dir",
            data_dir,
            "--count",
            str(count),
        ],
        cwd=checkout,
        env=env,
        check=True,
        capture_output=True,
    )
    found = re.search(r"^summary:\s+(\d+)", out.read_text(), re.MULTILINE)
    assert found, "callgrind wrote no summary"
    return int(found.group(1))


def per_submission(checkout: Path, backend: str, extra: int) -> float:
    """Instructions per submission of the code in `checkout` (WARM vs WARM + extra requests)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONPATH=f"{checkout / 'src'}:{checkout}")
        prepared_file = Path(tmp) / "prepared.json"
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--prepare",
                str(prepared_file),
                "--backend",
                backend,
                "--data-dir",
                tmp,
            ],
            cwd=checkout,
            env=env,
            check=True,
        )
        short = _instructions(checkout, prepared_file, tmp, WARM)
        long = _instructions(checkout, prepared_file, tmp, WARM + extra)
        prepared = json.loads(prepared_file.read_text())
        if prepared.get("schema"):
            from sqlalchemy import create_engine, text

            from bench.cases_submit import POSTGRES_URL

            admin = create_engine(POSTGRES_URL)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{prepared["schema"]}" CASCADE'))
            admin.dispose()
    return (long - short) / extra


def main(argv: list[str] | None = None) -> None:
    """Print instructions per submission for this checkout (and another to compare)."""
    parser = argparse.ArgumentParser(prog="bench.submit_instructions")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--extra", type=int, default=200, help="submissions counted")
    parser.add_argument("--compare", type=Path, help="another checkout to count too")
    parser.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--drive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [])
    if args.prepare:
        args.prepare.write_text(json.dumps(prepare(args.backend, Path(args.data_dir))))
        return
    if args.drive:
        drive(json.loads(args.drive.read_text()), args.data_dir, args.count)
        return
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind")
        return
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    checkouts = [("this", ROOT)] + ([("other", args.compare.resolve())] if args.compare else [])
    for backend in backends:
        for name, checkout in checkouts:
            count = per_submission(checkout, backend, args.extra)
            print(
                f"{backend}: {name} ({checkout}): {count / 1e6:.2f} M instructions per submission"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
