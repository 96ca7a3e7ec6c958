"""Indicators per region and per group over a period, as Ibis expressions (any backend).

A case belongs to the period by the day it was received, and to the region where it was
served: its service point's county, or (online, proxy) the competent authority's region.
Ratings belong to the period by the day they were given. Every function builds expressions on
the Snapshot's tables and executes them once; nothing here knows which engine runs them.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from tongban.insight import indices
from tongban.insight.engine import Snapshot
from tongban.insight.periods import Period
from tongban.platform.errors import FieldError, Invalid

LEVELS = ("province", "prefecture", "county", "service_point")
GROUPS = ("zone", "urban_rural", "age", "age_band", "channel")
AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
# The older applicants' view (group "age"): (value, lowest age, highest age) at receipt. The
# rows overlap on purpose, 80+ being part of 60+: the policy questions are "how are people
# over 60 served" and "how are the very old served", each against everyone under 60. The age
# comes from the birth date of the applicant's verified account (identity: resident ID).
AGE_GROUPS: tuple[tuple[str, int, int | None], ...] = (
    ("under_60", 0, 59),
    ("60_plus", 60, None),
    ("80_plus", 80, None),
)

# (column, label, better when) — the order of tables in the report.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("cases", "办件量 cases", "n/a"),
    ("fully_online", "全程网办占比 fully online", "higher"),
    ("away", "异地受理占比 accepted away (通办)", "higher"),
    ("mean_days", "平均办理时长（工作日）mean working days", "lower"),
    ("p90_days", "90分位办理时长 P90 working days", "lower"),
    ("on_time", "按时办结率 on-time rate", "higher"),
    ("visits", "平均跑动次数 visits required", "lower"),
    ("materials", "平均申请材料数 materials demanded", "lower"),
    ("satisfaction", "满意率 satisfaction rate", "higher"),
    ("rectification", "差评整改率 rectification rate", "higher"),
    ("items", "可办事项数 catalog items available", "higher"),
    ("paper_saved", "免证办节省纸质证明 paper certificates saved by e-licences", "higher"),
)
# Metrics compared across regions by the equalization indices.
INDEX_METRICS = (
    "mean_days",
    "on_time",
    "fully_online",
    "visits",
    "materials",
    "satisfaction",
    "items",
)


def check_level(level: str) -> str:
    """The level, or Invalid naming the field."""
    if level not in LEVELS:
        raise Invalid(
            f"Unknown level {level!r}.",
            errors=[FieldError("level", f"one of {', '.join(LEVELS)}")],
        )
    return level


def region_key(column: ir.StringValue, level: str) -> ir.StringValue:
    """The code of the `level` division that contains a county (or service-point) code."""
    if level == "province":
        return column.substr(0, 2) + "0000"
    if level == "prefecture":
        return column.substr(0, 4) + "00"
    if level == "county":
        return column.substr(0, 6)
    return column


def age_band(age: ir.IntegerValue) -> ir.StringValue:
    """The applicant's age band at receipt."""
    return ibis.cases(
        (age < 30, "18-29"),
        (age < 45, "30-44"),
        (age < 60, "45-59"),
        (age >= 60, "60+"),
        else_="unknown",
    )


def _cases(snap: Snapshot, period: Period, within: str | None) -> ir.Table:
    c = snap.cases
    c = c.filter(c.received_on >= period.start, c.received_on <= period.end)
    if within:
        c = c.filter(c.region.startswith(within))
    return c


def period_cases(snap: Snapshot, *, period: Period, within: str | None = None) -> ir.IntegerScalar:
    """How many cases were received in the period (and region)."""
    return _cases(snap, period, within).count()


def _reviews(snap: Snapshot, period: Period, within: str | None) -> ir.Table:
    r = snap.reviews
    r = r.filter(r.rated_on >= period.start, r.rated_on <= period.end, r.counted)
    if within:
        r = r.filter(r.region.startswith(within))
    return r


def _case_aggs(c: ir.Table) -> dict[str, Any]:
    return {
        "cases": c.count(),
        "completed": (c.state == "completed").cast("int32").sum(),
        "fully_online": c.fully_online.mean(),
        "away": c.away.mean(),
        "mean_days": c.working_days.mean(),
        "p90_days": c.working_days.quantile(0.9),
        "on_time": c.on_time.mean(),
        "visits": c.visits.mean(),
        "materials": c.materials.mean(),
        "paper_saved": c.paper_saved.sum(),
    }


def _review_aggs(r: ir.Table) -> dict[str, Any]:
    return {
        "ratings": r.count(),
        "satisfied": (r.overall >= 3).cast("int32").sum(),
        "bad": r.bad.cast("int32").sum(),
        "rectified": r.rectified.cast("int32").sum(),
        "rectified_on_time": r.on_time.cast("int32").sum(),
    }


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    for col in ("ratings", "satisfied", "bad", "rectified", "rectified_on_time", "paper_saved"):
        if col not in df:
            df[col] = 0
        df[col] = df[col].fillna(0).astype("int64")
    df["satisfaction"] = (df["satisfied"] / df["ratings"]).where(df["ratings"] > 0)
    df["rectification"] = (df["rectified"] / df["bad"]).where(df["bad"] > 0)
    df["timeliness"] = (df["rectified_on_time"] / df["rectified"]).where(df["rectified"] > 0)
    return df


def items_available(snap: Snapshot) -> pd.DataFrame:
    """Per county: distinct basic items implemented there or by its prefecture or province."""
    impl, reg = snap.implementations, snap.regions
    counties = reg.filter(reg.level == "county").select(
        county=reg.code, p4=reg.code.substr(0, 4), p2=reg.code.substr(0, 2)
    )
    direct = impl.filter(impl.level == "county").select(
        county=impl.region_code.substr(0, 6), item_code=impl.item_code
    )
    pref = impl.filter(impl.level == "prefecture")
    by_pref = pref.join(counties, pref.region_code.substr(0, 4) == counties.p4).select(
        county=counties.county, item_code=pref.item_code
    )
    prov = impl.filter(impl.level == "province")
    by_prov = prov.join(counties, prov.region_code.substr(0, 2) == counties.p2).select(
        county=counties.county, item_code=prov.item_code
    )
    union = ibis.union(direct, by_pref, by_prov, distinct=True)
    expr = union.group_by("county").agg(items=union.count())
    return snap.con.execute(expr)


def by_region(
    snap: Snapshot,
    *,
    period: Period,
    level: str,
    within: str | None = None,
    items: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per division of `level` with every indicator over the period (`items`:
    items_available, when the caller has it already: it does not depend on the period)."""
    check_level(level)
    c = _cases(snap, period, within)
    if level == "service_point":
        c = c.filter(c.service_point.notnull())
        key_col = c.service_point
    else:
        key_col = c.region
    cases = snap.con.execute(c.group_by(code=region_key(key_col, level)).agg(**_case_aggs(c)))
    r = _reviews(snap, period, within)
    review_level = "county" if level == "service_point" else level
    reviews = snap.con.execute(
        r.group_by(code=region_key(r.region, review_level)).agg(**_review_aggs(r))
    )
    df = cases.merge(reviews, on="code", how="left")
    items = (items_available(snap) if items is None else items).copy()
    if level in ("county", "service_point"):
        items = (
            items.rename(columns={"county": "code"})
            if level == "county"
            else items.assign(code=items["county"])
        )
        df = df.merge(items[["code", "items"]], on="code", how="left")
    else:
        width = 2 if level == "province" else 4
        pad = "0000" if level == "province" else "00"
        items["code"] = items["county"].str[:width] + pad
        df = df.merge(items.groupby("code", as_index=False)["items"].mean(), on="code", how="left")
    reg = snap.regions
    names = snap.con.execute(
        reg.select("code", "name", "level", "zone", "urban_rural", "population")
    )
    df = df.merge(names, on="code", how="left")
    df["zone"] = df["zone"].fillna(df["code"].str[:2].map(_province_zone(names)))
    df["population"] = (
        df["code"].str[:2].map(_province_population(names))
        if level == "province"
        else df["population"]
    )
    return _finish(df).sort_values("code").reset_index(drop=True)


def _province_zone(names: pd.DataFrame) -> dict[str, str]:
    prov = names[names["level"] == "province"]
    return dict(zip(prov["code"].str[:2], prov["zone"], strict=True))


def _province_population(names: pd.DataFrame) -> dict[str, float]:
    prov = names[names["level"] == "province"]
    return dict(zip(prov["code"].str[:2], prov["population"], strict=True))


def by_group(
    snap: Snapshot, *, period: Period, group: str, within: str | None = None
) -> pd.DataFrame:
    """One row per value of a group (zone, urban_rural, age, age_band, channel)."""
    if group not in GROUPS:
        raise Invalid(
            f"Unknown group {group!r}.",
            errors=[FieldError("group", f"one of {', '.join(GROUPS)}")],
        )
    if group == "age":
        return _by_age(snap, period=period, within=within)
    c = _cases(snap, period, within)
    key = age_band(c.age) if group == "age_band" else c[group]
    df = snap.con.execute(c.group_by(value=key).agg(**_case_aggs(c)))
    if group in ("zone", "urban_rural", "channel"):
        r = _reviews(snap, period, within)
        rkey = r[group]
        if group == "channel":
            # Ratings carry their own channel (online / onsite): match online to online and
            # count onsite ratings for the assisted channel, where the visit was.
            rkey = ibis.cases((r.channel == "online", "online"), else_="assisted")
        reviews = snap.con.execute(r.group_by(value=rkey).agg(**_review_aggs(r)))
        df = df.merge(reviews, on="value", how="left")
    return _finish(df).sort_values("value").reset_index(drop=True)


def _by_age(snap: Snapshot, *, period: Period, within: str | None) -> pd.DataFrame:
    # The (overlapping) age groups stacked with UNION ALL, then one aggregation each for cases
    # and ratings; ratings get the applicant's age from their case. Cases whose applicant's
    # age is unknown are left out of this view.
    def stacked(t: ir.Table) -> ir.Table:
        parts = [
            t.filter(t.age >= low, t.age <= (high if high is not None else 200)).mutate(
                value=ibis.literal(value)
            )
            for value, low, high in AGE_GROUPS
        ]
        return ibis.union(*parts, distinct=False)

    c = stacked(_cases(snap, period, within))
    df = snap.con.execute(c.group_by("value").agg(**_case_aggs(c)))
    r = _reviews(snap, period, within)
    ages = snap.cases.select(age_case_id=snap.cases.case_id, age=snap.cases.age)
    rated = stacked(r.join(ages, r.case_id == ages.age_case_id))
    reviews = snap.con.execute(rated.group_by("value").agg(**_review_aggs(rated)))
    df = _finish(df.merge(reviews, on="value", how="left"))
    order = {value: n for n, (value, _, _) in enumerate(AGE_GROUPS)}
    return df.sort_values("value", key=lambda v: v.map(order)).reset_index(drop=True)


def monthly(snap: Snapshot, *, period: Period, within: str | None = None) -> pd.DataFrame:
    """Per month of the period: cases, mean working days, on-time rate, fully online share."""
    c = _cases(snap, period, within)
    month = c.received_on.year() * 100 + c.received_on.month()
    df = snap.con.execute(
        c.group_by(month=month).agg(
            cases=c.count(),
            mean_days=c.working_days.mean(),
            on_time=c.on_time.mean(),
            fully_online=c.fully_online.mean(),
            paper_saved=c.paper_saved.sum(),
        )
    )
    r = _reviews(snap, period, within)
    rmonth = r.rated_on.year() * 100 + r.rated_on.month()
    reviews = snap.con.execute(
        r.group_by(month=rmonth).agg(
            ratings=r.count(), satisfied=(r.overall >= 3).cast("int32").sum()
        )
    )
    df = df.merge(reviews, on="month", how="left")
    df["satisfaction"] = df["satisfied"] / df["ratings"]
    df["paper_saved"] = df["paper_saved"].fillna(0).astype("int64")
    df["month"] = df["month"].astype(int).map(lambda m: f"{m // 100:04d}-{m % 100:02d}")
    return df.sort_values("month").reset_index(drop=True)


def totals(snap: Snapshot, *, period: Period, within: str | None = None) -> dict[str, Any]:
    """The national (or `within`) totals of every indicator."""
    c = _cases(snap, period, within)
    r = _reviews(snap, period, within)
    row = snap.con.execute(c.aggregate(**_case_aggs(c))).iloc[0].to_dict()
    rev = snap.con.execute(r.aggregate(**_review_aggs(r))).iloc[0].to_dict()
    df = _finish(pd.DataFrame([{**row, **rev}]))
    return {k: _py(v) for k, v in df.iloc[0].to_dict().items()}


def _py(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def equalization(
    df: pd.DataFrame, *, metrics: tuple[str, ...] = INDEX_METRICS, weight: str | None = None
) -> list[dict[str, Any]]:
    """Gini, CV, Theil T and L of each metric across the rows (weighted when asked)."""
    out = []
    for metric in metrics:
        rows = df[df[metric].notna()]
        if weight:
            rows = rows[rows[weight].notna() & (rows[weight] > 0)]
        values = [float(v) for v in rows[metric]]
        weights = [float(w) for w in rows[weight]] if weight else None
        entry: dict[str, Any] = {"metric": metric, "n": len(values)}
        entry.update(_indices(values, weights))
        out.append(entry)
    return out


def _indices(values: list[float], weights: list[float] | None) -> dict[str, float | None]:
    result: dict[str, float | None] = dict.fromkeys(("gini", "cv", "theil_t", "theil_l"))
    if not values or sum(values) <= 0:
        return result
    result["gini"] = indices.gini(values, weights)
    result["cv"] = indices.coefficient_of_variation(values, weights)
    if all(v > 0 for v in values):
        result["theil_t"] = indices.theil_t(values, weights)
        result["theil_l"] = indices.theil_l(values, weights)
    return result


def decomposition(
    df: pd.DataFrame, *, metric: str, group: str, weight: str | None = None
) -> dict[str, Any] | None:
    """Theil T of `metric` split between and within the groups (zone, urban_rural)."""
    rows = df[df[metric].notna() & df[group].notna() & (df[metric] > 0)]
    if weight:
        rows = rows[rows[weight].notna() & (rows[weight] > 0)]
    if rows.empty:
        return None
    d = indices.theil_decomposition(
        [float(v) for v in rows[metric]],
        list(rows[group]),
        [float(w) for w in rows[weight]] if weight else None,
    )
    return {
        "metric": metric,
        "group": group,
        "total": d.total,
        "between": d.between,
        "within": d.within,
        "between_share": d.between_share,
    }
