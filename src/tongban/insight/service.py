"""Insight rules: other domains and the CLI use insight only through this module.

Split by sub-domain: indices.py (Gini, CV, Theil), facts.py (the snapshot's tables and the export
from the platform database), engine.py (Ibis backends), simulate.py, indicators.py,
standardization.py, report.py (+ charts.py), periods.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ibis.backends import BaseBackend
from sqlalchemy.orm import Session

from tongban.insight import report as reports
from tongban.insight.engine import Snapshot, connect, from_arrow, open_snapshot, snapshot_dir
from tongban.insight.facts import export_platform, platform_tables, read_source
from tongban.insight.periods import Period, parse_period
from tongban.insight.simulate import SimulationResult, simulate
from tongban.platform.config import Settings
from tongban.platform.db import Database
from tongban.platform.errors import FieldError, Invalid

__all__ = [
    "Period",
    "SimulationResult",
    "Snapshot",
    "Source",
    "check_region_prefix",
    "configured_snapshot",
    "current",
    "current_quarter",
    "export",
    "forget_live",
    "open_configured",
    "parse_period",
    "refresh",
    "refresher_starter",
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


log = logging.getLogger(__name__)

_snapshots: dict[tuple[str, str, float], Snapshot] = {}

# How long figures computed from the live database are served before they are computed again:
# new cases show within minutes, and a busy dashboard reads the database at most this often.
LIVE_TTL = 300.0


@dataclass(frozen=True)
class Source:
    """The fact tables the figures come from, and how fresh they are."""

    snap: Snapshot
    key: Any  # changes whenever the tables do: the cache key of computations on them
    kind: str  # "live" (this node's database, read on demand), "export" or "simulated"
    as_of: datetime  # when the tables were read or written (UTC)


_live: dict[tuple[str, int], Source] = {}
_live_lock = threading.Lock()


def current(session: Session, settings: Settings, *, max_age: float | None = None) -> Source:
    """What the dashboard and the API compute from: a simulated snapshot as it is, an export
    younger than `max_age`, else this node's database read on demand (kept `max_age` seconds).
    A fresh node therefore shows its figures with no CLI step; a worker may export more often."""
    max_age = LIVE_TTL if max_age is None else max_age
    directory = snapshot_dir(settings)
    facts = directory / "case_facts.parquet"
    if not settings.analytics_url.startswith("duckdb"):
        # Another engine holds the fact tables; loading them there is its pipeline's job.
        return Source(configured_snapshot(settings), snapshot_key(settings), "export", _now())
    if facts.exists():
        written = facts.stat().st_mtime
        simulated = read_source(directory) == "simulated"
        if simulated or time.time() - written < max_age:
            return Source(
                configured_snapshot(settings),
                snapshot_key(settings),
                "simulated" if simulated else "export",
                datetime.fromtimestamp(written, UTC),
            )
    return _live_source(session, max_age=max_age)


def _live_source(session: Session, *, max_age: float) -> Source:
    bind = session.get_bind()
    cache_key = (str(bind.engine.url), id(bind.engine))
    with _live_lock:  # one computation at a time; the others wait for its result
        hit = _live.get(cache_key)
        if hit is not None and (_now() - hit.as_of).total_seconds() < max_age:
            return hit
        as_of = _now()
        snap = from_arrow(connect(), platform_tables(session))
        source = Source(snap, ("live", *cache_key, as_of.timestamp()), "live", as_of)
        _live.clear()
        _live[cache_key] = source
        return source


def refresh(database: Database, settings: Settings, *, max_age: float | None = None) -> Source:
    """Read the figures' source again if it is older than `max_age` (what the worker does)."""
    with database.sessions() as session:
        return current(session, settings, max_age=max_age)


def refresher_starter(every: float | None = None) -> Callable[[Any], Callable[[], None]]:
    """A create_app background starter: a thread that reads the live figures a little before
    they go stale, so that no request waits for them. Failures are logged, never raised."""

    def start(app: Any) -> Callable[[], None]:
        interval = every or LIVE_TTL * 0.8
        stop = threading.Event()

        def run() -> None:
            while True:
                try:
                    refresh(app.state.database, app.state.settings, max_age=interval)
                except Exception:  # the dashboard then reads on demand; the worker goes on
                    log.exception("insight: refreshing the live figures failed")
                if stop.wait(interval):
                    return

        thread = threading.Thread(target=run, name="insight-refresher", daemon=True)
        thread.start()

        def stopper() -> None:
            stop.set()
            thread.join(timeout=10)

        return stopper

    return start


def forget_live() -> None:
    """Drop the figures read from the live database (the next request reads it again)."""
    with _live_lock:
        _live.clear()


def _now() -> datetime:
    return datetime.now(UTC)


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
    # Operators and data stewards read insight for every region (policy: scope "any").
    national = actor.role in (identity.Role.ADMIN, identity.Role.STEWARD)
    if region is None and not national:
        region = actor.jurisdiction
    prefix = check_region_prefix(region)
    if prefix is not None or not national:
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
    forget_live()
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
