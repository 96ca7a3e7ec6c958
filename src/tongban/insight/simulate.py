"""A deterministic national workload, generated inside DuckDB and written to a Parquet snapshot.

Every random draw is `hash(case, draw, seed)` scaled to [0, 1): no Python loop over cases, the
same seed gives the same files on any machine running the pinned DuckDB, and 10,000,000 cases
take seconds. The assumptions (population weights, digital divide, regional gaps) are in
docs/insight.md; the numbers sit here as named constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tongban.insight.facts import REGION_COLUMNS, write_source, write_table
from tongban.regions import service as regions
from tongban.workdays.service import WorkingCalendar

# Basic items: (code, name, promised working days (0: 即办件), materials, visits, online depth,
# fee in yuan, popularity weight). Names from domain.md §3–4; codes are illustrative.
ITEMS: tuple[tuple[str, str, int, int, int, int, float, float], ...] = (
    ("SIM001", "企业职工基本养老保险关系转移接续", 15, 4, 0, 6, 0, 9.0),
    ("SIM002", "城乡居民基本养老保险关系转移接续", 15, 4, 0, 5, 0, 6.0),
    ("SIM003", "失业登记", 0, 2, 0, 6, 0, 7.0),
    ("SIM004", "正常退休提取住房公积金", 3, 3, 0, 6, 0, 8.0),
    ("SIM005", "购房提取住房公积金", 3, 5, 0, 5, 0, 9.5),
    ("SIM006", "住房公积金转移接续", 10, 3, 0, 5, 0, 4.0),
    ("SIM007", "电子社会保障卡申领", 0, 1, 0, 7, 0, 8.0),
    ("SIM008", "社会保障卡申领", 5, 2, 1, 4, 0, 7.0),
    ("SIM009", "异地就医登记备案和结算", 0, 2, 0, 6, 0, 10.0),
    ("SIM010", "开具户籍类证明", 1, 2, 1, 4, 0, 6.0),
    ("SIM011", "无犯罪记录证明", 3, 2, 0, 5, 0, 5.0),
    ("SIM012", "户口迁移（夫妻投靠）", 10, 6, 1, 4, 0, 3.0),
    ("SIM013", "户口迁移（大中专学生毕业）", 7, 4, 1, 4, 0, 3.0),
    ("SIM014", "居民身份证换领补领异地受理", 20, 2, 1, 3, 20, 6.0),
    ("SIM015", "机动车驾驶证补换领", 1, 2, 1, 5, 10, 5.0),
    ("SIM016", "小型非营运客车二手车交易登记", 1, 5, 1, 4, 0, 3.0),
    ("SIM017", "出入境证件办理", 7, 3, 1, 4, 120, 5.0),
    ("SIM018", "市场主体登记注册（内资企业设立）", 3, 6, 0, 6, 0, 4.0),
    ("SIM019", "职业资格证书核验", 5, 2, 0, 5, 0, 2.0),
    ("SIM020", "学历公证", 10, 3, 1, 4, 80, 1.5),
    ("SIM021", "不动产抵押登记", 5, 6, 1, 4, 80, 3.5),
    ("SIM022", "排污许可", 20, 9, 1, 4, 0, 0.6),
    ("SIM023", "工业产品生产许可证", 20, 10, 1, 4, 0, 0.4),
    ("SIM024", "新生儿出生一件事", 5, 5, 1, 5, 0, 3.0),
    ("SIM025", "教育入学一件事", 10, 5, 1, 5, 0, 3.0),
    ("SIM026", "退休一件事", 15, 5, 1, 5, 0, 2.5),
    ("SIM027", "残疾人证办理", 20, 5, 2, 3, 0, 1.0),
    ("SIM028", "生育登记", 1, 3, 0, 6, 0, 2.5),
    ("SIM029", "城乡居民医保参保登记", 1, 2, 0, 6, 0, 4.0),
    ("SIM030", "高龄津贴申领", 10, 3, 1, 4, 0, 2.5),
    ("SIM031", "最低生活保障申请", 30, 7, 2, 3, 0, 1.5),
    ("SIM032", "临时救助申请", 10, 5, 1, 3, 0, 1.0),
    ("SIM033", "水电气网联合报装", 5, 4, 1, 5, 0, 2.0),
    ("SIM034", "开办餐饮店一件事", 10, 8, 1, 5, 0, 1.0),
    ("SIM035", "建设工程规划许可", 20, 12, 2, 4, 0, 0.3),
    ("SIM036", "食品经营许可", 10, 7, 1, 5, 0, 1.2),
)
ITEM_COLUMNS = (
    "item_code",
    "item_name",
    "promised",
    "materials",
    "visits",
    "depth",
    "fee",
    "weight",
)

SLOTS = 1_000_000  # resolution of the population-weighted county draw
ITEM_SLOTS = 10_000

# Digital divide (CNNIC, domain.md §9): internet penetration, and how far 60+ trail the average.
PENETRATION = {"urban": 0.798, "rural": 0.576}
SENIOR_FACTOR = 0.432 / 0.73  # 60+ netizens 43.2% of their age group vs 73% of all people
ONLINE_USE = 0.85  # share of netizens who apply online rather than in person
ZONE_ONLINE = {"east": 1.05, "central": 1.0, "northeast": 0.97, "west": 0.92}
# Handling speed relative to the promised limit, and ratings: the regional gaps simulated.
ZONE_SPEED = {"east": 0.85, "central": 1.0, "northeast": 1.1, "west": 1.2}
ZONE_RECTIFY = {"east": 0.97, "central": 0.93, "northeast": 0.9, "west": 0.88}
URBAN_WEIGHT = 1.5  # urban districts are denser than rural counties of the same province


@dataclass(frozen=True)
class SimulationResult:
    """What was written."""

    directory: Path
    cases: int
    reviews: int
    implementations: int
    seed: int
    start: date
    end: date


def _county_table() -> pa.Table:
    rows = [r for r in regions.builtin_rows() if r["level"] == "county"]
    population = {r["code"][:2]: r["population"] for r in regions.builtin_rows() if r["population"]}
    weights: dict[str, float] = {}
    by_province: dict[str, float] = {}
    for r in rows:
        w = URBAN_WEIGHT if r["urban_rural"] == "urban" else 1.0
        weights[r["code"]] = w
        by_province[r["code"][:2]] = by_province.get(r["code"][:2], 0.0) + w
    total = sum(population.values())
    share = {
        r["code"]: population[r["code"][:2]]
        / total
        * weights[r["code"]]
        / by_province[r["code"][:2]]
        for r in rows
    }
    return pa.table(
        {
            "code": [r["code"] for r in rows],
            "zone": [r["zone"] for r in rows],
            "urban_rural": [r["urban_rural"] for r in rows],
            "share": [share[r["code"]] for r in rows],
        }
    )


def _slots(con: duckdb.DuckDBPyConnection, source: str, key: str, weight: str, n: int) -> str:
    """SQL of a table slot -> key where each key holds slots in proportion to its weight."""
    return f"""
        WITH w AS (
            SELECT {key} AS key, {weight} / sum({weight}) OVER () AS p,
                   sum({weight}) OVER (ORDER BY {key} ROWS UNBOUNDED PRECEDING)
                       / sum({weight}) OVER () AS cum
            FROM {source}
        ), b AS (
            SELECT key, CAST(round((cum - p) * {n}) AS BIGINT) AS lo,
                   CAST(round(cum * {n}) AS BIGINT) AS hi
            FROM w
        )
        SELECT key, unnest(range(lo, hi)) AS slot FROM b WHERE hi > lo
    """


def _calendar(start: date, end: date) -> pa.Table:
    cal = WorkingCalendar()
    days, idx, work = [], [], []
    count = 0
    day = start
    while day <= end:
        is_work = cal.is_workday(day)
        count += 1 if is_work else 0
        days.append(day)
        idx.append(count)
        work.append(is_work)
        day += timedelta(days=1)
    return pa.table({"day": days, "wd_idx": idx, "is_workday": work})


def simulate(
    *,
    cases: int,
    seed: int,
    out: Path,
    start: date = date(2026, 1, 1),
    end: date = date(2026, 12, 31),
    threads: int = 2,
    memory_limit: str = "3GB",
) -> SimulationResult:
    """Generate `cases` cases (with ratings and the catalog's implementations) into `out`."""
    if cases < 1:
        raise ValueError("cases must be at least 1")
    if end < start:
        raise ValueError("end before start")
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET threads={int(threads)}; SET memory_limit='{memory_limit}'")
    con.execute("SET preserve_insertion_order=false")
    seed = int(seed)
    con.execute(f"CREATE MACRO u(i, k) AS hash(i, k, {seed}::BIGINT) / 18446744073709551616.0")
    counties = _county_table()  # noqa: F841  (read by DuckDB's replacement scan)
    items = pa.table(  # noqa: F841
        {name: [row[n] for row in ITEMS] for n, name in enumerate(ITEM_COLUMNS)}
    )
    calendar = _calendar(start, end + timedelta(days=400))  # noqa: F841
    con.execute("CREATE TABLE counties AS SELECT * FROM counties")
    con.execute("CREATE TABLE items AS SELECT * FROM items")
    con.execute("CREATE TABLE cal AS SELECT * FROM calendar")
    con.execute(
        "CREATE TABLE wd AS SELECT wd_idx, min(day) AS day FROM cal WHERE is_workday "
        "GROUP BY wd_idx"
    )
    con.execute("CREATE TABLE county_slots AS " + _slots(con, "counties", "code", "share", SLOTS))
    con.execute(
        "CREATE TABLE item_slots AS " + _slots(con, "items", "item_code", "weight", ITEM_SLOTS)
    )
    _implementations(con, seed)
    span = (end - start).days + 1
    zone_online = _case_sql("zone", ZONE_ONLINE)
    zone_speed = _case_sql("zone", ZONE_SPEED)
    case_sql = f"""
    WITH c1 AS (
        SELECT i AS case_id, c.code AS region, c.zone, c.urban_rural, it.key AS item_code,
            CAST(CASE
                WHEN u(i, 3) < 0.17 THEN 18 + floor(u(i, 4) * 12)
                WHEN u(i, 3) < 0.49 THEN 30 + floor(u(i, 4) * 15)
                WHEN u(i, 3) < 0.78 THEN 45 + floor(u(i, 4) * 15)
                ELSE 60 + floor(u(i, 4) * 25) END AS SMALLINT) AS age,
            DATE '{start.isoformat()}' + CAST(floor(u(i, 7) * {span}) AS INTEGER) AS received_on
        FROM range({int(cases)}) r(i)
        JOIN county_slots s ON s.slot = CAST(floor(u(i, 1) * {SLOTS}) AS BIGINT)
        JOIN counties c ON c.code = s.key
        JOIN item_slots it ON it.slot = CAST(floor(u(i, 2) * {ITEM_SLOTS}) AS BIGINT)
    ), c2 AS (
        SELECT *, {ONLINE_USE} * (CASE WHEN urban_rural = 'urban' THEN {PENETRATION["urban"]}
                    ELSE {PENETRATION["rural"]} END)
                * (CASE WHEN age >= 60 THEN {SENIOR_FACTOR} ELSE 1.08 END) * {zone_online}
                AS p_online
        FROM c1
    ), c3 AS (
        SELECT *, CASE
                WHEN u(case_id, 5) < p_online THEN 'online'
                WHEN u(case_id, 5) < p_online + (1 - p_online)
                    * (CASE WHEN age >= 60 THEN 0.35 ELSE 0.12 END) THEN 'proxy'
                ELSE 'assisted' END AS channel
        FROM c2
    ), c4 AS (
        SELECT c3.*,
            CASE WHEN channel = 'assisted' AND u(case_id, 6) < (CASE
                    WHEN zone = 'east' AND urban_rural = 'urban' THEN 0.14 ELSE 0.06 END)
                THEN s.key ELSE region END AS authority_region
        FROM c3 JOIN county_slots s ON s.slot = CAST(floor(u(case_id, 8) * {SLOTS}) AS BIGINT)
    ), c5 AS (
        SELECT c4.*,
            CASE WHEN channel = 'assisted' THEN region END AS service_point,
            coalesce(m.materials, it.materials) AS materials,
            coalesce(m.visits, it.visits) AS visits,
            coalesce(m.promised_days, it.promised) AS promised,
            CASE WHEN u(case_id, 9) < 0.015 THEN 'withdrawn'
                 WHEN u(case_id, 9) < 0.03 THEN 'not_accepted'
                 ELSE 'completed' END AS state,
            exp(0.45 * (u(case_id, 10) + u(case_id, 11) + u(case_id, 12) - 1.5) * 2) AS noise
        FROM c4
        JOIN items it ON it.item_code = c4.item_code
        LEFT JOIN implementations m
            ON m.item_code = c4.item_code AND m.region_code = c4.authority_region
    ), c6 AS (
        SELECT *, CASE WHEN state <> 'completed' THEN NULL
            WHEN promised = 0 THEN CASE WHEN u(case_id, 13) < 0.9 THEN 0
                ELSE 1 + CAST(floor(u(case_id, 14) * 2) AS INTEGER) END
            ELSE CAST(round(promised * 0.55 * {zone_speed}
                * (CASE WHEN urban_rural = 'rural' THEN 1.12 ELSE 1.0 END)
                * (CASE WHEN authority_region <> region THEN 1.15 ELSE 1.0 END)
                * noise) AS INTEGER) END AS working_days
        FROM c5
    )
    SELECT c6.case_id, c6.item_code, c6.region, c6.authority_region, c6.service_point,
        c6.zone, c6.urban_rural, c6.channel, c6.state, c6.received_on,
        wd.day AS completed_on, c6.working_days,
        CASE WHEN c6.working_days IS NULL THEN NULL
             ELSE c6.working_days <= c6.promised END AS on_time,
        c6.channel = 'online' AND c6.visits = 0 AS fully_online,
        c6.authority_region <> c6.region AS away,
        CAST(c6.visits AS SMALLINT) AS visits, CAST(c6.materials AS SMALLINT) AS materials,
        c6.age
    FROM c6
    JOIN cal ON cal.day = c6.received_on
    LEFT JOIN wd ON wd.wd_idx = cal.wd_idx + greatest(c6.working_days,
        CASE WHEN cal.is_workday THEN 0 ELSE 1 END)
    """
    case_path = out / "case_facts.parquet"
    con.execute(f"COPY ({case_sql}) TO '{case_path}' (FORMAT parquet, COMPRESSION zstd)")
    zone_rectify = _case_sql("zone", ZONE_RECTIFY)
    review_sql = f"""
    WITH r AS (
        SELECT case_id, region, zone, urban_rural,
            CASE WHEN channel = 'online' THEN 'online' ELSE 'onsite' END AS channel,
            completed_on + CAST(floor(u(case_id, 20) * 4) AS INTEGER) AS rated_on,
            0.012 + (CASE WHEN on_time THEN 0 ELSE 0.05 END)
                + (CASE WHEN zone = 'west' THEN 0.01 ELSE 0 END)
                + (CASE WHEN urban_rural = 'rural' THEN 0.008 ELSE 0 END)
                + (CASE WHEN age >= 60 AND channel = 'online' THEN 0.01 ELSE 0 END) AS p_bad,
            on_time
        FROM read_parquet('{case_path}')
        WHERE state = 'completed'
          AND u(case_id, 21) < (CASE WHEN channel = 'online' THEN 0.7 ELSE 0.55 END)
    ), s AS (
        SELECT *, u(case_id, 22) AS v,
            (u(case_id, 22) - p_bad) / (1 - p_bad) AS q
        FROM r
    ), l AS (
        SELECT *, CAST(CASE WHEN v < p_bad * 0.4 THEN 1 WHEN v < p_bad THEN 2
            WHEN q < 0.06 + (CASE WHEN on_time THEN 0 ELSE 0.04 END) THEN 3
            WHEN q < 0.30 THEN 4 ELSE 5 END AS SMALLINT) AS overall
        FROM s
    )
    SELECT case_id, region, zone, urban_rural, channel, rated_on, overall,
        overall <= 2 AS bad,
        overall <= 2 AND u(case_id, 23) < {zone_rectify} AS rectified,
        CASE WHEN overall <= 2 AND u(case_id, 23) < {zone_rectify}
            THEN u(case_id, 24) < (CASE WHEN zone = 'west' THEN 0.8 ELSE 0.9 END) END AS on_time,
        NOT (overall <= 2 AND u(case_id, 25) < 0.03) AS counted
    FROM l
    """
    review_path = out / "review_facts.parquet"
    con.execute(f"COPY ({review_sql}) TO '{review_path}' (FORMAT parquet, COMPRESSION zstd)")
    impl_path = out / "implementations.parquet"
    con.execute(f"COPY implementations TO '{impl_path}' (FORMAT parquet)")
    write_table(out / "regions.parquet", _regions_table())
    write_source(out, "simulated")
    n_cases = con.execute(f"SELECT count(*) FROM read_parquet('{case_path}')").fetchone()
    n_reviews = con.execute(f"SELECT count(*) FROM read_parquet('{review_path}')").fetchone()
    n_impl = con.execute("SELECT count(*) FROM implementations").fetchone()
    con.close()
    return SimulationResult(
        directory=out,
        cases=int(n_cases[0]) if n_cases else 0,
        reviews=int(n_reviews[0]) if n_reviews else 0,
        implementations=int(n_impl[0]) if n_impl else 0,
        seed=seed,
        start=start,
        end=end,
    )


def _case_sql(column: str, mapping: dict[str, float]) -> str:
    whens = " ".join(f"WHEN {column} = '{k}' THEN {v}" for k, v in mapping.items())
    return f"(CASE {whens} ELSE 1.0 END)"


def _implementations(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    """One implementation per item and county, with regional deviations and coverage gaps."""
    # The draw keys mix the item into the county code so that each pair varies independently.
    con.execute(
        f"""
        CREATE TABLE implementations AS
        WITH p AS (
            SELECT it.item_code, it.item_name, c.code AS region_code, c.zone, c.urban_rural,
                it.promised, it.materials, it.visits, it.depth, it.fee,
                hash(it.item_code, c.code, {seed}::BIGINT) AS h
            FROM items it CROSS JOIN counties c
        ), q AS (
            SELECT *,
                (h % 1000) / 1000.0 AS a, ((h // 1000) % 1000) / 1000.0 AS b,
                ((h // 1000000) % 1000) / 1000.0 AS d, ((h // 1000000000) % 1000) / 1000.0 AS e,
                ((h // 1000000000000) % 1000) / 1000.0 AS g
            FROM p
        )
        SELECT item_code, item_name, region_code, 'county' AS level,
            CAST(greatest(1, materials
                + (CASE WHEN zone = 'west' AND a < 0.35 THEN 1 ELSE 0 END)
                + (CASE WHEN urban_rural = 'rural' AND b < 0.2 THEN 1 ELSE 0 END)
                - (CASE WHEN zone = 'east' AND a > 0.8 THEN 1 ELSE 0 END)) AS SMALLINT)
                AS materials,
            CAST(CASE WHEN promised = 0 THEN 0 ELSE round(promised * (1 + 0.3 * b
                + (CASE WHEN zone IN ('west', 'northeast') THEN 0.2 ELSE 0 END))) END
                AS INTEGER) AS promised_days,
            CAST(fee * (CASE WHEN d < 0.1 THEN 1.5 ELSE 1.0 END) AS DOUBLE) AS fee,
            CAST(visits + (CASE WHEN (zone = 'west' OR urban_rural = 'rural') AND d > 0.85
                THEN 1 ELSE 0 END) AS SMALLINT) AS visits,
            CAST(least(7, greatest(1, depth - (CASE WHEN (zone = 'west' OR urban_rural = 'rural')
                AND e < 0.3 THEN 1 + CAST(e < 0.1 AS INTEGER) ELSE 0 END)
                + (CASE WHEN zone = 'east' AND e > 0.9 THEN 1 ELSE 0 END))) AS SMALLINT)
                AS online_depth
        FROM q
        WHERE g >= (CASE zone WHEN 'east' THEN 0.02 WHEN 'west' THEN 0.10 ELSE 0.06 END)
            + (CASE WHEN urban_rural = 'rural' THEN 0.04 ELSE 0 END)
        """
    )


def _regions_table() -> pa.Table:
    rows: list[dict[str, Any]] = list(regions.builtin_rows())
    return pa.table({name: [r[name] for r in rows] for name in REGION_COLUMNS})
