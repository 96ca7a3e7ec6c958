"""Fixtures of the insight tests: a hand-made snapshot with known answers, on DuckDB and on
PostgreSQL (its own schema), so that the same Ibis expressions are checked on both engines."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import ibis
import pyarrow as pa
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import BACKENDS, POSTGRES_URL, REQUIRE_POSTGRES, _postgres_reachable
from tests.reviews.conftest import WORLD as REVIEWS_WORLD
from tests.support.databases import Seed
from tongban.insight.engine import Snapshot, from_arrow
from tongban.insight.facts import SCHEMAS

D = date.fromisoformat

REGIONS = [
    ("110000", "北京市", "province", None, "east", "urban", 100),
    ("110100", "市辖区", "prefecture", "110000", "east", "urban", None),
    ("110101", "东城区", "county", "110100", "east", "urban", None),
    ("510000", "四川省", "province", None, "west", "rural", 300),
    ("511600", "广安市", "prefecture", "510000", "west", "urban", None),
    ("511602", "广安区", "county", "511600", "west", "rural", None),
    ("511621", "岳池县", "county", "511600", "west", "rural", None),
]
# case_id, item, region, authority, service point, zone, ur, channel, state, received,
# completed, days, on_time, fully_online, away, visits, materials, age
CASES = [
    (
        1,
        "A",
        "110101",
        "110101",
        None,
        "east",
        "urban",
        "online",
        "completed",
        D("2026-07-05"),
        D("2026-07-07"),
        2,
        True,
        True,
        False,
        0,
        2,
        30,
    ),
    (
        2,
        "A",
        "110101",
        "110101",
        "110101",
        "east",
        "urban",
        "assisted",
        "completed",
        D("2026-08-10"),
        D("2026-08-14"),
        4,
        True,
        False,
        False,
        1,
        4,
        65,
    ),
    (
        3,
        "A",
        "511602",
        "110101",
        "511602",
        "west",
        "rural",
        "assisted",
        "completed",
        D("2026-07-20"),
        D("2026-07-28"),
        6,
        False,
        False,
        True,
        1,
        3,
        70,
    ),
    (
        4,
        "A",
        "511621",
        "511621",
        None,
        "west",
        "rural",
        "proxy",
        "completed",
        D("2026-09-30"),
        D("2026-10-16"),
        8,
        False,
        False,
        False,
        1,
        3,
        50,
    ),
    (
        5,
        "A",
        "511621",
        "511621",
        None,
        "west",
        "rural",
        "proxy",
        "withdrawn",
        D("2026-09-01"),
        None,
        None,
        None,
        False,
        False,
        1,
        3,
        20,
    ),
    (
        6,
        "A",
        "110101",
        "110101",
        None,
        "east",
        "urban",
        "online",
        "completed",
        D("2026-10-01"),
        D("2026-12-30"),
        100,
        False,
        True,
        False,
        0,
        2,
        40,
    ),
]
# case_id, region, zone, ur, channel, rated_on, overall, bad, rectified, on_time, counted
REVIEWS = [
    (1, "110101", "east", "urban", "online", D("2026-07-06"), 5, False, False, None, True),
    (2, "110101", "east", "urban", "onsite", D("2026-08-12"), 2, True, True, True, True),
    (3, "511602", "west", "rural", "onsite", D("2026-07-25"), 1, True, False, None, True),
    (4, "511621", "west", "rural", "online", D("2026-09-30"), 4, False, False, None, True),
    (5, "511621", "west", "rural", "online", D("2026-09-01"), 1, True, False, None, False),
]
# item, name, region, level, materials, promised days, fee, visits, depth
IMPLEMENTATIONS = [
    ("A", "事项甲", "110101", "county", 2, 5, 0.0, 0, 6),
    ("A", "事项甲", "511602", "county", 4, 10, 0.0, 1, 4),
    ("A", "事项甲", "511621", "county", 3, 5, 10.0, 0, 5),
    ("B", "事项乙", "510000", "province", 1, 3, 0.0, 0, 7),
]


def _table(name: str, rows: list[tuple[object, ...]]) -> pa.Table:
    schema = SCHEMAS[name]
    # Columns past a row's end (paper_saved: no e-licence in the hand-made data) are null.
    return pa.table(
        {f.name: [row[i] if i < len(row) else None for row in rows] for i, f in enumerate(schema)},
        schema=schema,
    )


def hand_made() -> dict[str, pa.Table]:
    """The four fact tables of the hand-made dataset."""
    return {
        "regions": _table("regions", REGIONS),
        "case_facts": _table("case_facts", CASES),
        "review_facts": _table("review_facts", REVIEWS),
        "implementations": _table("implementations", IMPLEMENTATIONS),
    }


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """test_report.py's `world` is the reviews tests' world (build_world finds it committed in
    that seed, tests/reviews/conftest.py)."""
    return {"world": REVIEWS_WORLD}


ENGINES = ["duckdb"] + (["postgres"] if "postgresql" in BACKENDS else [])


@pytest.fixture(params=ENGINES)
def snap(request: pytest.FixtureRequest) -> Iterator[Snapshot]:
    """The hand-made snapshot on DuckDB, then on PostgreSQL."""
    if request.param == "duckdb":
        yield from_arrow(ibis.duckdb.connect(), hand_made())
        return
    if not _postgres_reachable():
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL required but unreachable")
        pytest.skip("PostgreSQL not reachable")
    schema = f"tb_insight_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = admin.url
    con = ibis.postgres.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
        options=f"-csearch_path={schema}",
    )
    try:
        yield from_arrow(con, hand_made())
    finally:
        con.disconnect()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
