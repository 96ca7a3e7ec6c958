"""The equalization report: one computation (cached), rendered as self-contained HTML or PDF."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from tongban.insight import charts, readings, standardization
from tongban.insight import indicators as ind
from tongban.insight.engine import Snapshot
from tongban.insight.periods import Period
from tongban.platform.errors import AppError

MIN_CASES = 30  # a county with fewer cases in the period is left out of the rankings

_env = Environment(
    loader=PackageLoader("tongban.insight", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["pct"] = lambda v, d=1: "—" if v is None or v != v else f"{v * 100:.{d}f}%"
_env.filters["num"] = lambda v, d=1: "—" if v is None or v != v else f"{v:,.{d}f}"
_env.filters["int"] = lambda v: "—" if v is None or v != v else f"{int(v):,}"

_cache: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()
_build_lock = threading.Lock()


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        for row in df.to_dict(orient="records")
    ]


def build(snap: Snapshot, *, period: Period, within: str | None = None) -> dict[str, Any]:
    """Every figure of the report for the period (and region prefix), as plain data."""
    started = time.perf_counter()
    items = ind.items_available(snap)
    provinces = ind.by_region(snap, period=period, level="province", within=within, items=items)
    counties = ind.by_region(snap, period=period, level="county", within=within, items=items)
    groups = {
        g: _records(ind.by_group(snap, period=period, group=g, within=within)) for g in ind.GROUPS
    }
    months = ind.monthly(snap, period=period, within=within)
    totals = ind.totals(snap, period=period, within=within)
    ranked = _ranked(counties)
    scores = standardization.region_scores(snap, level="county", within=within)
    province_scores = standardization.region_scores(snap, level="province", within=within)
    decompositions = [
        d
        for metric in ("mean_days", "fully_online", "satisfaction", "items", "on_time")
        for group in ("zone", "urban_rural")
        if (d := ind.decomposition(ranked, metric=metric, group=group, weight="cases")) is not None
    ]
    county_indices = ind.equalization(ranked, weight="cases")
    province_indices = ind.equalization(provinces, weight="population")
    before = _previous(snap, period=period.previous(), within=within, items=items)
    data: dict[str, Any] = {
        "period": {
            "label": period.label,
            "start": period.start,
            "end": period.end,
            "previous": period.previous().label,
        },
        "within": within,
        "backend": snap.backend,
        "all_cases": int(snap.con.execute(snap.cases.count())),
        "totals": totals,
        "metrics": ind.METRICS,
        "province_indices": province_indices,
        "county_indices": county_indices,
        "decompositions": decompositions,
        "readings": readings.index_readings(
            {"county": county_indices, "province": province_indices},
            before["indices"],
            decompositions,
            period_kind=period.kind,
        )
        + readings.gap_readings(groups, before["groups"], period_kind=period.kind),
        "provinces": _records(provinces),
        "groups": groups,
        "months": _records(months),
        "slowest": _records(ranked.sort_values("mean_days", ascending=False).head(10)),
        "least_online": _records(ranked.sort_values("fully_online").head(10)),
        "least_standard": _records(scores.head(10)),
        "province_scores": _records(province_scores),
        "deviations": _records(standardization.deviations(snap, within=within, limit=15)),
        "counties": len(counties),
    }
    data["seconds"] = round(time.perf_counter() - started, 2)
    return data


def _ranked(counties: pd.DataFrame) -> pd.DataFrame:
    # Rankings compare counties (level 3) with enough cases: cases decided by a province's or
    # a city's own authority count for that division, which is no county.
    return counties[(counties["level"] == "county") & (counties["cases"] >= MIN_CASES)]


def _previous(
    snap: Snapshot, *, period: Period, within: str | None, items: pd.DataFrame
) -> dict[str, Any]:
    """The figures of the period before that the readings compare with (None: no cases)."""
    if int(snap.con.execute(ind.period_cases(snap, period=period, within=within))) == 0:
        return {"groups": None, "indices": {}}
    counties = ind.by_region(snap, period=period, level="county", within=within, items=items)
    provinces = ind.by_region(snap, period=period, level="province", within=within, items=items)
    return {
        "groups": {
            g: _records(ind.by_group(snap, period=period, group=g, within=within))
            for g in readings.GAP_GROUPS
        },
        "indices": {
            "county": ind.equalization(_ranked(counties), weight="cases"),
            "province": ind.equalization(provinces, weight="population"),
        },
    }


def cached_build(
    snap: Snapshot, *, period: Period, within: str | None = None, key: Any = None, ttl: float = 600
) -> dict[str, Any]:
    """build() remembered per (snapshot key, period, region) for `ttl` seconds."""
    cache_key = (key, period, within)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(cache_key)
        if hit and now - hit[0] < ttl:
            return hit[1]
    with _build_lock:  # one computation at a time: DuckDB's connection is shared by threads
        data = build(snap, period=period, within=within)
    with _lock:
        for stale in [k for k, (at, _) in _cache.items() if now - at >= ttl]:
            del _cache[stale]
        _cache[cache_key] = (now, data)
    return data


def clear_cache() -> None:
    """Forget every cached computation (after a new snapshot)."""
    with _lock:
        _cache.clear()


def chart_set(data: dict[str, Any]) -> dict[str, str]:
    """The SVG charts of the report and the dashboard."""
    prov = sorted(data["provinces"], key=lambda r: r["mean_days"] or 0, reverse=True)
    mean_all = data["totals"]["mean_days"] or 0
    months = data["months"]
    return {
        "province_days": charts.bar_chart(
            [r["name"] or r["code"] for r in prov],
            [r["mean_days"] or 0 for r in prov],
            title="各省平均办理时长（工作日）Mean working days by province",
            highlight=[(r["mean_days"] or 0) > mean_all * 1.1 for r in prov],
        ),
        "province_online": charts.bar_chart(
            [r["name"] or r["code"] for r in sorted(prov, key=lambda r: r["fully_online"] or 0)],
            [
                (r["fully_online"] or 0) * 100
                for r in sorted(prov, key=lambda r: r["fully_online"] or 0)
            ],
            title="各省全程网办占比（%）Fully online share by province",
        ),
        "trend": charts.line_chart(
            [m["month"] for m in months],
            {
                "平均时长 mean days": [m["mean_days"] for m in months],
                "按时率×10 on-time ×10": [
                    (m["on_time"] * 10) if m["on_time"] is not None else None for m in months
                ],
            },
            title="月度趋势 Monthly trend",
        ),
    }


def render_html(data: dict[str, Any]) -> str:
    """The self-contained report (inline CSS and SVG, no external request)."""
    return _env.get_template("report.html").render(d=data, charts=chart_set(data))


def render_pdf(html: str, out: Path) -> None:
    """Print the HTML to PDF with headless Chromium (offline; system CJK fonts)."""
    browser = next(
        (
            p
            for p in (
                shutil.which("chromium"),
                shutil.which("chromium-browser"),
                shutil.which("google-chrome"),
            )
            if p
        ),
        None,
    )
    if browser is None:
        raise AppError("No Chromium found to print the PDF (install chromium).")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(html, encoding="utf-8")
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
                f"--user-data-dir={tmp}/profile",
                f"--print-to-pdf={out.resolve()}",
                source.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    if not out.exists() or out.stat().st_size == 0:
        raise AppError("Chromium produced no PDF.")
