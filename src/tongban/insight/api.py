"""JSON routes of insight: indicators, equalization indices, same-item-same-standard, trends."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from tongban.identity.deps import CurrentActor
from tongban.insight import indicators as ind
from tongban.insight import service, standardization
from tongban.platform.web.deps import AppSettings, DbSession

router = APIRouter(prefix="/insight", tags=["insight"])

PeriodQ = Annotated[str | None, Query(description="2026, 2026-Q3, 2026-07 or a..b")]
RegionQ = Annotated[str | None, Query(description="region code; default national / jurisdiction")]


def _period(value: str | None) -> service.Period:
    return service.parse_period(value) if value else service.current_quarter()


def _rows(df: Any) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        for row in df.to_dict(orient="records")
    ]


@router.get("/indicators")
def indicators(
    actor: CurrentActor,
    session: DbSession,
    settings: AppSettings,
    period: PeriodQ = None,
    level: str = "province",
    region: RegionQ = None,
) -> dict[str, Any]:
    """Every indicator per division of `level` (province, prefecture, county, service_point)."""
    within = service.scope_for(actor, region)
    p = _period(period)
    ind.check_level(level)
    snap = service.current(session, settings).snap
    df = ind.by_region(snap, period=p, level=level, within=within)
    return {"period": p.label, "level": level, "region": within, "rows": _rows(df)}


@router.get("/groups/{group}")
def groups(
    group: str,
    actor: CurrentActor,
    session: DbSession,
    settings: AppSettings,
    period: PeriodQ = None,
    region: RegionQ = None,
) -> dict[str, Any]:
    """Every indicator per zone, urban_rural, age (under 60, 60+, 80+), age_band or channel."""
    within = service.scope_for(actor, region)
    p = _period(period)
    df = ind.by_group(service.current(session, settings).snap, period=p, group=group, within=within)
    return {"period": p.label, "group": group, "region": within, "rows": _rows(df)}


@router.get("/equalization")
def equalization(
    actor: CurrentActor,
    session: DbSession,
    settings: AppSettings,
    period: PeriodQ = None,
    region: RegionQ = None,
) -> dict[str, Any]:
    """Gini, CV, Theil T/L across provinces and counties, Theil decompositions, and their
    one-line readings in Chinese and English (compared with the period before)."""
    within = service.scope_for(actor, region)
    p = _period(period)
    source = service.current(session, settings)
    data = service.report_data(source.snap, period=p, within=within, key=source.key)
    return {
        "period": p.label,
        "previous": data["period"]["previous"],
        "region": within,
        "provinces": data["province_indices"],
        "counties": data["county_indices"],
        "decompositions": data["decompositions"],
        "readings": data["readings"],
    }


@router.get("/standardization")
def standardization_scores(
    actor: CurrentActor,
    session: DbSession,
    settings: AppSettings,
    level: str = "county",
    region: RegionQ = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Same item, same standard: region scores (worst first) and the largest deviations."""
    within = service.scope_for(actor, region)
    snap = service.current(session, settings).snap
    scores = standardization.region_scores(snap, level=level, within=within).head(limit)
    devs = standardization.deviations(snap, within=within, limit=limit)
    return {"level": level, "region": within, "regions": _rows(scores), "deviations": _rows(devs)}


@router.get("/trend")
def trend(
    actor: CurrentActor,
    session: DbSession,
    settings: AppSettings,
    period: PeriodQ = None,
    region: RegionQ = None,
) -> dict[str, Any]:
    """Per month: cases, mean working days, on-time rate, fully online share, satisfaction."""
    within = service.scope_for(actor, region)
    p = _period(period)
    df = ind.monthly(service.current(session, settings).snap, period=p, within=within)
    return {"period": p.label, "region": within, "rows": _rows(df)}
