"""Where the analytics run: an Ibis backend holding the four fact tables.

DuckDB (in memory, over the Parquet snapshot) by default; any Ibis backend by URL
(`TONGBAN_ANALYTICS_URL=postgres://…`, `trino://…`, …). The indicator code only ever sees Ibis
tables, so the same expressions run everywhere; on engines other than DuckDB the fact tables
must already exist there (`load_snapshot` copies a small snapshot in; a distributed engine
would read the Parquet files from its object store instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from tongban.insight.facts import TABLES
from tongban.platform.config import Settings
from tongban.platform.errors import NotFound


@dataclass
class Snapshot:
    """The fact tables on one backend."""

    con: BaseBackend
    cases: ibis.Table
    reviews: ibis.Table
    implementations: ibis.Table
    regions: ibis.Table

    @property
    def backend(self) -> str:
        """The backend's name (duckdb, postgres, trino…)."""
        return str(self.con.name)


def snapshot_dir(settings: Settings) -> Path:
    """Where the Parquet snapshot lives."""
    return settings.analytics_dir or settings.data_dir / "analytics"


def connect(
    url: str = "duckdb://", *, threads: int | None = 2, memory: str | None = "3GB"
) -> BaseBackend:
    """An Ibis connection for the URL; DuckDB gets bounded threads and memory."""
    con = ibis.connect(url)
    if con.name == "duckdb":
        raw: Any = con.con
        if threads:
            raw.execute(f"SET threads={int(threads)}")
        if memory:
            raw.execute(f"SET memory_limit='{memory}'")
        raw.execute("SET preserve_insertion_order=false")
    return con


def _bind(con: BaseBackend) -> Snapshot:
    t = {name: con.table(name) for name in TABLES}
    cases = t["case_facts"]
    if "paper_saved" not in cases.columns:  # a snapshot written before e-licences were counted
        cases = cases.mutate(paper_saved=ibis.literal(0, "int16"))
    return Snapshot(
        con=con,
        cases=cases,
        reviews=t["review_facts"],
        implementations=t["implementations"],
        regions=t["regions"],
    )


def open_snapshot(directory: Path, *, con: BaseBackend | None = None) -> Snapshot:
    """The snapshot in `directory` as views on DuckDB (or the tables already on `con`)."""
    con = con or connect()
    if con.name == "duckdb":
        missing = [n for n in TABLES if not (directory / f"{n}.parquet").exists()]
        if missing:
            raise NotFound(
                f"No analytic snapshot in {directory} (missing {', '.join(missing)}): run "
                "`tongban simulate` or `tongban insight export` first."
            )
        for name in TABLES:
            con.read_parquet(directory / f"{name}.parquet", table_name=name)
    return _bind(con)


def load_snapshot(con: BaseBackend, directory: Path) -> Snapshot:
    """Copy a (small) Parquet snapshot into the backend's tables and bind them."""
    return from_arrow(con, {n: pq.read_table(directory / f"{n}.parquet") for n in TABLES})


def from_arrow(con: BaseBackend, tables: dict[str, pa.Table]) -> Snapshot:
    """Create the fact tables on `con` from Arrow tables (tests, small nodes)."""
    for name in TABLES:
        con.create_table(name, tables[name], overwrite=True)
    return _bind(con)
