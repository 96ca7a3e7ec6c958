"""The insight dashboard for operators and officials (server-rendered, no JavaScript)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import HTMLResponse

from tongban.identity.deps import OptionalActor
from tongban.insight import report as reports
from tongban.insight import service
from tongban.platform.web.deps import AppSettings, DbSession
from tongban.platform.web.rendering import static_url
from tongban.reviews import service as reviews

router = APIRouter(tags=["insight"])


def dashboard_data(
    session: Any, settings: Any, *, period: service.Period, within: str | None
) -> dict[str, Any]:
    """The report's figures (cached) plus today's overdue rectifications from the platform."""
    snap = service.configured_snapshot(settings)
    data = service.report_data(
        snap, period=period, within=within, key=service.snapshot_key(settings)
    )
    overdue = reviews.overdue_rectifications(session, limit=20)
    if within:
        overdue = [t for t in overdue if t.region_code.startswith(within)]
    return {"report": data, "overdue": overdue, "today": reviews.today()}


@router.get("/insight", response_class=HTMLResponse)
def dashboard(
    session: DbSession,
    actor: OptionalActor,
    settings: AppSettings,
    period: Annotated[str | None, Query()] = None,
    region: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Headline indices, slowest and least standardized regions, overdue tasks, monthly trend."""
    within = service.scope_for(actor, region)
    p = service.parse_period(period) if period else service.current_quarter()
    data = dashboard_data(session, settings, period=p, within=within)
    html = reports._env.get_template("dashboard.html").render(
        d=data["report"],
        overdue=data["overdue"],
        today=data["today"],
        charts=reports.chart_set(data["report"]),
        region=region or "",
        css_url=static_url("insight.css"),
    )
    return HTMLResponse(html)
