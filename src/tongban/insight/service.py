"""Insight rules: other domains and the CLI use insight only through this module.

Split by sub-domain: indices.py (Gini, CV, Theil), facts.py (the snapshot's tables and the export
from the platform database), engine.py (Ibis backends), simulate.py, indicators.py,
standardization.py, report.py (+ charts.py), periods.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ibis.backends import BaseBackend

from tongban.insight import report as reports
from tongban.insight.engine import Snapshot, connect, open_snapshot, snapshot_dir
from tongban.insight.facts import export_platform
from tongban.insight.periods import Period, parse_period
from tongban.insight.simulate import SimulationResult, simulate
from tongban.platform.config import Settings
from tongban.platform.db import Database
from tongban.platform.errors import FieldError, Invalid

__all__ = [
    "Period",
    "SimulationResult",
    "Snapshot",
    "check_region_prefix",
    "configured_snapshot",
    "current_quarter",
    "export",
    "open_configured",
    "parse_period",
    "report_data",
    "scope_for",
    "simulate",
    "snapshot_key",
    "write_report",
]


def open_configured(settings: Settings, *, directory: Path | None = None) -> Snapshot:
    """The snapshot on the configured analytics engine (DuckDB over Parquet by default)."""
    con: BaseBackend = connect(settings.analytics_url)
    return open_snapshot(directory or snapshot_dir(settings), con=con)


_snapshots: dict[tuple[str, str, float], Snapshot] = {}


def configured_snapshot(settings: Settings) -> Snapshot:
    """The configured snapshot, opened once per process and reopened when it changes."""
    key = (settings.analytics_url, *snapshot_key(settings))
    snap = _snapshots.get(key)
    if snap is None:
        snap = open_configured(settings)
        _snapshots.clear()
        _snapshots[key] = snap
    return snap


def current_quarter() -> Period:
    """The quarter of today's date in Asia/Shanghai."""
    from tongban.cases import service as cases
    from tongban.platform.db import utcnow

    day = cases.local_date(utcnow())
    return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def scope_for(actor: Any, region: str | None) -> str | None:
    """Authorize insight.read for the region asked (officials: their jurisdiction by default);
    returns the region prefix to filter on (None: national)."""
    from tongban.identity import service as identity

    identity.authorize(actor, "insight.read")
    if region is None and actor.role is not identity.Role.ADMIN:
        region = actor.jurisdiction
    prefix = check_region_prefix(region)
    if prefix is not None or actor.role is not identity.Role.ADMIN:
        code = (prefix or "").ljust(6, "0")
        identity.authorize(actor, "insight.read", {"region_code": code if prefix else None})
    return prefix


def snapshot_key(settings: Settings, directory: Path | None = None) -> tuple[str, float]:
    """Changes whenever the snapshot is rewritten (the cache key of computations)."""
    path = (directory or snapshot_dir(settings)) / "case_facts.parquet"
    return str(path), path.stat().st_mtime if path.exists() else 0.0


def export(database: Database, settings: Settings, *, out: Path | None = None) -> dict[str, int]:
    """Write the platform database's facts to the Parquet snapshot."""
    target = out or snapshot_dir(settings)
    with database.session_scope() as session:
        counts = export_platform(session, out=target)
    reports.clear_cache()
    return counts


def check_region_prefix(value: str | None) -> str | None:
    """A region filter given as a code (440000, 4403) reduced to its prefix; Invalid if odd."""
    if value is None:
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit() and 2 <= len(text) <= 12):
        raise Invalid(
            f"Unknown region {value!r}.",
            errors=[FieldError("region", "a region code (2–12 digits)")],
        )
    from tongban.regions import service as regions

    try:
        return str(regions.significant_prefix(text.ljust(6, "0")[:12]))
    except Invalid:
        raise Invalid(
            f"Unknown region {value!r}.", errors=[FieldError("region", "malformed region code")]
        ) from None


def report_data(
    snap: Snapshot, *, period: Period, within: str | None = None, key: Any = None
) -> dict[str, Any]:
    """Every figure of the report (cached per snapshot, period and region)."""
    return reports.cached_build(snap, period=period, within=within, key=key)


def write_report(
    snap: Snapshot, *, period: Period, out: Path, within: str | None = None, pdf: bool = False
) -> Path:
    """Render the report to `out` (HTML, or PDF when asked or when out ends in .pdf)."""
    data = reports.build(snap, period=period, within=within)
    html = reports.render_html(data)
    if pdf or out.suffix.lower() == ".pdf":
        target = out.with_suffix(".pdf")
        reports.render_pdf(html, target)
        if out.suffix.lower() != ".pdf":
            out.write_text(html, encoding="utf-8")
        return target
    out.write_text(html, encoding="utf-8")
    return out
