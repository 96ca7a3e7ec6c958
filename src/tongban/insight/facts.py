"""The analytic snapshot: four fact tables, the same whether simulated or exported.

case_facts       one row per case: where it was served, channel, dates, working days, on time,
                 fully online, accepted away from the authority (通办), visits, materials, age,
                 paper certificates saved by e-licences (免证办, from credential.used events)
review_facts     one row per first rating: level, bad, rectified (on time), counted
implementations  one row per implementation: materials, promised days, fee, visits, depth
regions          the divisions with zone, urban/rural and population

The export reads the platform's tables read-only (SQLAlchemy Core, SQLite or PostgreSQL) and
writes Arrow tables, so DuckDB needs no sqlite/postgres scanner extension (extensions cannot be
downloaded offline). Working days are counted with the platform's working calendar here, once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from tongban.cases import service as _cases  # noqa: F401  (the cases table)
from tongban.catalog import service as _catalog  # noqa: F401  (the catalog tables)
from tongban.events import service as _events  # noqa: F401  (the events table)
from tongban.identity import service as _identity  # noqa: F401  (the accounts table)
from tongban.platform.db import Base
from tongban.regions import service as _regions  # noqa: F401  (the regions table)
from tongban.reviews import service as _reviews  # noqa: F401  (the reviews tables)
from tongban.workdays.service import WorkingCalendar, load_calendar

TABLES = ("case_facts", "review_facts", "implementations", "regions")
SOURCE_FILE = "source.json"
REGION_COLUMNS = ("code", "name", "level", "parent_code", "zone", "urban_rural", "population")

SCHEMAS: dict[str, pa.Schema] = {
    "case_facts": pa.schema(
        [
            ("case_id", pa.int64()),
            ("item_code", pa.string()),
            ("region", pa.string()),
            ("authority_region", pa.string()),
            ("service_point", pa.string()),
            ("zone", pa.string()),
            ("urban_rural", pa.string()),
            ("channel", pa.string()),
            ("state", pa.string()),
            ("received_on", pa.date32()),
            ("completed_on", pa.date32()),
            ("working_days", pa.int32()),
            ("on_time", pa.bool_()),
            ("fully_online", pa.bool_()),
            ("away", pa.bool_()),
            ("visits", pa.int16()),
            ("materials", pa.int16()),
            ("age", pa.int16()),
            ("paper_saved", pa.int16()),
        ]
    ),
    "review_facts": pa.schema(
        [
            ("case_id", pa.int64()),
            ("region", pa.string()),
            ("zone", pa.string()),
            ("urban_rural", pa.string()),
            ("channel", pa.string()),
            ("rated_on", pa.date32()),
            ("overall", pa.int16()),
            ("bad", pa.bool_()),
            ("rectified", pa.bool_()),
            ("on_time", pa.bool_()),
            ("counted", pa.bool_()),
        ]
    ),
    "implementations": pa.schema(
        [
            ("item_code", pa.string()),
            ("item_name", pa.string()),
            ("region_code", pa.string()),
            ("level", pa.string()),
            ("materials", pa.int16()),
            ("promised_days", pa.int32()),
            ("fee", pa.float64()),
            ("visits", pa.int16()),
            ("online_depth", pa.int16()),
        ]
    ),
    "regions": pa.schema(
        [
            ("code", pa.string()),
            ("name", pa.string()),
            ("level", pa.string()),
            ("parent_code", pa.string()),
            ("zone", pa.string()),
            ("urban_rural", pa.string()),
            ("population", pa.int64()),
        ]
    ),
}


def write_table(path: Path, table: pa.Table) -> None:
    """Write one fact table as Parquet (zstd)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")


def _rows_to_table(name: str, rows: Iterable[dict[str, Any]]) -> pa.Table:
    schema = SCHEMAS[name]
    rows = list(rows)
    return pa.table({f.name: [r.get(f.name) for r in rows] for f in schema}, schema=schema)


def _t(name: str) -> Table:
    # The export reads the tables of the domains below insight by name: the service modules
    # imported at the top of this module have put them on Base.metadata. (A snapshot built
    # from versioned event payloads would need no table names; docs/architecture.md.)
    return Base.metadata.tables[name]


def _county(code: str | None) -> str | None:
    # A township or village service point counts for its county (the unit of comparison).
    return code[:6] if code else None


def _promised_working_days(value: int, unit: str) -> int:
    # Natural days are turned into working days at 5/7 so that limits compare across units.
    return value if unit == "working_days" else round(value * 5 / 7)


def write_source(out: Path, source: str) -> None:
    """Say where a snapshot came from: a "simulated" one is a fixed workload that the live
    database must not replace; a "platform" export goes stale and is recomputed."""
    out.mkdir(parents=True, exist_ok=True)
    (out / SOURCE_FILE).write_text(json.dumps({"source": source}), encoding="utf-8")


def read_source(directory: Path) -> str | None:
    """The source written by write_source (None: unknown, e.g. a snapshot from an older version)."""
    try:
        value = json.loads((directory / SOURCE_FILE).read_text(encoding="utf-8")).get("source")
    except (OSError, ValueError, AttributeError):
        return None
    return str(value) if value else None


def export_platform(session: Session, *, out: Path) -> dict[str, int]:
    """Write the four fact tables from the platform database; returns row counts."""
    tables = platform_tables(session)
    for name, table in tables.items():
        write_table(out / f"{name}.parquet", table)
    write_source(out, "platform")
    return {name: table.num_rows for name, table in tables.items()}


def platform_tables(session: Session) -> dict[str, pa.Table]:
    """The four fact tables read from the platform database (read-only), as Arrow tables."""
    calendar = load_calendar(session)
    region_rows = [
        dict(r._mapping)
        for r in session.execute(select(*[_t("regions").c[c] for c in REGION_COLUMNS]))
    ]
    zone = {r["code"]: r["zone"] for r in region_rows}
    urban = {r["code"]: r["urban_rural"] for r in region_rows}
    impl = implementation_rows(session)
    by_code = {row["code"]: row for row in impl}
    tables = {
        "regions": _rows_to_table("regions", region_rows),
        "implementations": _rows_to_table("implementations", impl),
        "case_facts": _rows_to_table(
            "case_facts", _case_rows(session, calendar, by_code, zone, urban)
        ),
        "review_facts": _rows_to_table("review_facts", _review_rows(session, zone, urban)),
    }
    return tables


def implementation_rows(session: Session) -> list[dict[str, Any]]:
    """Implementations with their required materials counted and fees summed."""
    impl, items = _t("catalog_implementations"), _t("catalog_items")
    materials, fees = _t("catalog_materials"), _t("catalog_fees")
    required = (
        select(materials.c.implementation_id, func.count().label("n"))
        .where(materials.c.required == "yes")
        .group_by(materials.c.implementation_id)
        .subquery()
    )
    fee = (
        select(fees.c.implementation_id, func.sum(fees.c.amount).label("amount"))
        .group_by(fees.c.implementation_id)
        .subquery()
    )
    stmt = (
        select(
            impl.c.code,
            items.c.code.label("item_code"),
            items.c.name.label("item_name"),
            impl.c.region_code,
            impl.c.exercise_level,
            impl.c.promised_limit_value,
            impl.c.promised_limit_unit,
            impl.c.visits,
            impl.c.online_depth,
            func.coalesce(required.c.n, 0).label("materials"),
            func.coalesce(fee.c.amount, 0).label("fee"),
        )
        .join(items, items.c.id == impl.c.item_id)
        .outerjoin(required, required.c.implementation_id == impl.c.id)
        .outerjoin(fee, fee.c.implementation_id == impl.c.id)
    )
    level = {6: "county"}
    rows = []
    for r in session.execute(stmt):
        code = str(r.region_code)
        rows.append(
            {
                "code": r.code,
                "item_code": r.item_code,
                "item_name": r.item_name,
                "region_code": code,
                "level": _level(code) if len(code) == 6 else level.get(len(code), "township"),
                "materials": int(r.materials),
                "promised_days": _promised_working_days(
                    int(r.promised_limit_value), str(r.promised_limit_unit)
                ),
                "fee": float(r.fee) if isinstance(r.fee, Decimal | int | float) else 0.0,
                "visits": int(r.visits),
                "online_depth": int(r.online_depth),
            }
        )
    return rows


def _level(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _case_rows(
    session: Session,
    calendar: WorkingCalendar,
    impl: dict[str, dict[str, Any]],
    zone: dict[str, str],
    urban: dict[str, str],
) -> Iterable[dict[str, Any]]:
    from tongban.cases import service as cases

    c, accounts = _t("cases"), _t("accounts")
    saved = _paper_saved(session)
    stmt = (
        select(c, accounts.c.birth_date)
        .outerjoin(accounts, accounts.c.id == c.c.applicant_id)
        .where(c.c.kind == "single")
        .order_by(c.c.id)
    )
    for r in session.execute(stmt).mappings():
        received = cases.local_date(r["received_at"])
        closed = r["closed_at"] if r["state"] == "completed" else None
        done = cases.local_date(closed) if closed else None
        start = cases.local_date(r["accepted_at"]) if r["accepted_at"] else received
        days = None
        if done is not None:
            days = max(
                0,
                calendar.working_days_between(start, done)
                - int(r["handling_paused_wd"] or 0)
                - int(r["acceptance_paused_wd"] or 0),
            )
        offer = impl.get(r["implementation_code"] or "", {})
        county = _county(r["service_point"]) or _county(r["authority_region"]) or ""
        authority = str(r["authority_region"])
        away = r["service_point"] is not None and not str(r["service_point"]).startswith(
            _prefix(authority)
        )
        visits = int(offer.get("visits", 0 if r["channel"] == "online" else 1))
        yield {
            "case_id": int(r["id"]),
            "item_code": r["item_code"],
            "region": county,
            "authority_region": authority,
            "service_point": r["service_point"],
            "zone": zone.get(county[:2] + "0000"),
            "urban_rural": urban.get(county),
            "channel": r["channel"],
            "state": r["state"],
            "received_on": received,
            "completed_on": done,
            "working_days": days,
            "on_time": (done <= r["promised_due"])
            if done and r["promised_due"]
            else (True if done and r["case_type"] != "promise" else None),
            "fully_online": r["channel"] == "online" and visits == 0,
            "away": away,
            "visits": visits,
            "materials": int(offer.get("materials", 0)),
            "age": _age(r["birth_date"], received),
            "paper_saved": saved.get(str(r["number"]), 0),
        }


def _paper_saved(session: Session) -> dict[str, int]:
    """Per case number: the paper certificates e-licences stood in for (免证办). Read from the
    credential.used events (payload v1: data.paper_saved), not from credentials' tables."""
    ev = _t("events")
    stmt = select(ev.c.resource_id, ev.c.data).where(
        ev.c.action == "credential.used", ev.c.resource_type == "case"
    )
    out: dict[str, int] = {}
    for number, data in session.execute(stmt):
        try:
            n = int((data or {}).get("paper_saved") or 0)
        except (TypeError, ValueError, AttributeError):
            n = 0
        out[str(number)] = out.get(str(number), 0) + n
    return out


def _prefix(code: str) -> str:
    from tongban.regions import service as regions

    try:
        return str(regions.significant_prefix(code))
    except Exception:  # a malformed stored code: compare it whole
        return code


def _review_rows(
    session: Session, zone: dict[str, str], urban: dict[str, str]
) -> Iterable[dict[str, Any]]:
    from tongban.cases import service as cases

    rv, rect, c = _t("reviews"), _t("rectifications"), _t("cases")
    stmt = (
        select(
            c.c.id.label("case_id"),
            c.c.service_point,
            rv.c.region_code,
            rv.c.channel,
            rv.c.created_at,
            rv.c.overall,
            rv.c.bad,
            rv.c.counted,
            rect.c.state,
            rect.c.on_time,
        )
        .join(c, c.c.number == rv.c.case_number)
        .outerjoin(rect, rect.c.review_id == rv.c.id)
        .where(rv.c.round == 0)
        .order_by(rv.c.id)
    )
    for r in session.execute(stmt).mappings():
        county = _county(r["service_point"]) or _county(r["region_code"]) or ""
        rectified = r["state"] in ("fixed", "rerated")
        yield {
            "case_id": int(r["case_id"]),
            "region": county,
            "zone": zone.get(county[:2] + "0000"),
            "urban_rural": urban.get(county),
            "channel": r["channel"],
            "rated_on": cases.local_date(r["created_at"]),
            "overall": int(r["overall"]),
            "bad": bool(r["bad"]),
            "rectified": rectified,
            "on_time": bool(r["on_time"]) if rectified else None,
            "counted": bool(r["counted"]),
        }
