"""Same item, same standard (同事同标): each implementation against its item's national norm.

For every basic item the norm is the median over its implementations and the best is the
least demanding one (fewest materials, shortest promised limit, lowest fee, fewest visits,
deepest online handling). A dimension scores 1 at or better than the norm, else norm/value
(value/norm for online depth); an implementation's score is 100 × the mean of its five, a
region's the mean over its implementations. Medians are aggregated and joined back (not window
functions) because PostgreSQL has no ordered-set aggregates over windows.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from tongban.insight.engine import Snapshot
from tongban.insight.indicators import check_level, region_key

# (column, lower is better)
DIMENSIONS: tuple[tuple[str, bool], ...] = (
    ("materials", True),
    ("promised_days", True),
    ("fee", True),
    ("visits", True),
    ("online_depth", False),
)


def _scored(snap: Snapshot) -> ir.Table:
    impl = snap.implementations
    aggs: dict[str, Any] = {"n_regions": impl.count()}
    for col, lower in DIMENSIONS:
        aggs[f"norm_{col}"] = impl[col].cast("float64").median()
        aggs[f"best_{col}"] = impl[col].min() if lower else impl[col].max()
    norms = impl.group_by("item_code").agg(**aggs)
    j = impl.join(norms, "item_code")
    parts: dict[str, Any] = {}
    for col, lower in DIMENSIONS:
        value, norm = j[col].cast("float64"), j[f"norm_{col}"]
        if lower:
            worse = value > norm
            score = ibis.ifelse(worse, ibis.ifelse(value > 0, norm / value, 1.0), 1.0)
        else:
            worse = value < norm
            score = ibis.ifelse(worse, ibis.ifelse(norm > 0, value / norm, 1.0), 1.0)
        parts[f"dev_{col}"] = worse
        parts[f"score_{col}"] = score
    j = j.mutate(**parts)
    total = j[f"score_{DIMENSIONS[0][0]}"]
    count = j[f"dev_{DIMENSIONS[0][0]}"].cast("int32")
    for col, _ in DIMENSIONS[1:]:
        total = total + j[f"score_{col}"]
        count = count + j[f"dev_{col}"].cast("int32")
    return j.mutate(score=total / len(DIMENSIONS) * 100, deviations=count)


def item_norms(snap: Snapshot) -> pd.DataFrame:
    """Per basic item: how many regions implement it, the norm (median) and the best."""
    impl = snap.implementations
    aggs: dict[str, Any] = {"item_name": impl.item_name.max(), "n_regions": impl.count()}
    for col, lower in DIMENSIONS:
        aggs[f"norm_{col}"] = impl[col].cast("float64").median()
        aggs[f"best_{col}"] = impl[col].min() if lower else impl[col].max()
    return snap.con.execute(impl.group_by("item_code").agg(**aggs)).sort_values("item_code")


def region_scores(
    snap: Snapshot, *, level: str = "county", within: str | None = None
) -> pd.DataFrame:
    """Per division of `level`: mean score, deviating dimensions, share deviating.

    Only divisions of that level are listed: a province's own implementations (region code
    510000) cut to six digits would otherwise pass for a county in the county ranking."""
    check_level(level)
    level = "county" if level == "service_point" else level
    j = _scored(snap)
    if within:
        j = j.filter(j.region_code.startswith(within))
    expr = j.group_by(code=region_key(j.region_code, level)).agg(
        implementations=j.count(),
        score=j.score.mean(),
        deviations=j.deviations.sum(),
        deviating=(j.deviations > 0).cast("int32").sum(),
    )
    df = snap.con.execute(expr)
    reg = snap.regions
    names = snap.con.execute(
        reg.filter(reg.level == level).select("code", "name", "zone", "urban_rural")
    )
    df = df.merge(names, on="code", how="inner")
    df["deviating_share"] = df["deviating"] / df["implementations"]
    return df.sort_values(["score", "code"]).reset_index(drop=True)


def deviations(snap: Snapshot, *, within: str | None = None, limit: int = 50) -> pd.DataFrame:
    """Implementations that demand more than their item's norm, worst first."""
    j = _scored(snap)
    if within:
        j = j.filter(j.region_code.startswith(within))
    j = j.filter(j.deviations > 0)
    cols = ["item_code", "item_name", "region_code", "score", "deviations"]
    for col, _ in DIMENSIONS:
        cols += [col, f"norm_{col}", f"best_{col}", f"dev_{col}"]
    expr = j.select(*cols).order_by([j.score, j.item_code, j.region_code]).limit(limit)
    return snap.con.execute(expr)
