"""The insight dashboard for operators and officials: a page of the site (its menu, language and
elderly mode), server-rendered, no JavaScript.

The figures are computed on demand from this node's database when no fresh snapshot exists
(service.current), so a fresh node shows an empty state that explains itself, then its first
cases, with no CLI step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from tongban.identity.deps import PageUi
from tongban.insight import charts, service
from tongban.platform.errors import Invalid
from tongban.platform.web.deps import AppSettings, DbSession
from tongban.platform.web.rendering import N_, FormState, Ui, add_templates, local_time
from tongban.reviews import service as reviews

add_templates(Path(__file__).resolve().parent / "templates")

router = APIRouter(tags=["insight pages"], include_in_schema=False)

METRIC_LABELS: dict[str, str] = {
    "cases": N_("Cases"),
    "fully_online": N_("Fully online"),
    "away": N_("Accepted away from the authority"),
    "mean_days": N_("Mean working days"),
    "p90_days": N_("Working days, slowest tenth"),
    "on_time": N_("Done on time"),
    "visits": N_("Visits required"),
    "materials": N_("Materials demanded"),
    "satisfaction": N_("Satisfied ratings"),
    "rectification": N_("Bad ratings put right"),
    "items": N_("Services available"),
    "paper_saved": N_("Paper certificates saved by e-licences"),
}
# The columns of the group and region tables, in order.
COLUMNS = ("cases", "fully_online", "mean_days", "on_time", "satisfaction", "paper_saved")
GROUP_LABELS: dict[str, str] = {
    "age": N_("By age of the applicant"),
    "urban_rural": N_("Urban and rural"),
    "zone": N_("By zone"),
}
VALUE_LABELS: dict[str, str] = {
    "under_60": N_("Under 60"),
    "60_plus": N_("60 and over"),
    "80_plus": N_("80 and over"),
    "urban": N_("Urban"),
    "rural": N_("Rural"),
    "east": N_("East"),
    "central": N_("Centre"),
    "west": N_("West"),
    "northeast": N_("Northeast"),
}
# Groups are listed in this order (east to northeast as the statistical zones are named).
ORDER = {value: n for n, value in enumerate(VALUE_LABELS)}
SOURCE_LABELS: dict[str, str] = {
    "live": N_("Computed from this node's cases at %(time)s; updated every few minutes."),
    "export": N_("Computed from the export of this node's cases made at %(time)s."),
    "simulated": N_("Computed from a simulated workload (demonstration data), not real cases."),
}
SHARES = {"fully_online", "away", "on_time", "satisfaction", "rectification"}
COUNTS = {"cases", "paper_saved"}


class Figures:
    """Numbers as the page shows them ("—" when there is nothing to show)."""

    @staticmethod
    def pct(value: float | None) -> str:
        """A share as a percentage."""
        return "—" if value is None or value != value else f"{value * 100:.1f}%"

    @staticmethod
    def num(value: float | None, digits: int = 1) -> str:
        """A decimal number."""
        return "—" if value is None or value != value else f"{value:,.{digits}f}"

    @staticmethod
    def count(value: float | None) -> str:
        """A count."""
        return "—" if value is None or value != value else f"{int(value):,}"

    def cell(self, column: str, value: float | None) -> str:
        """A table cell of the column's kind."""
        if column in SHARES:
            return self.pct(value)
        return self.count(value) if column in COUNTS else self.num(value)


def dashboard_data(
    session: Any, settings: Any, *, period: service.Period, within: str | None
) -> dict[str, Any]:
    """The report's figures (cached) plus today's overdue rectifications from the platform."""
    source = service.current(session, settings)
    data = service.report_data(source.snap, period=period, within=within, key=source.key)
    overdue = reviews.overdue_rectifications(session, limit=20)
    if within:
        overdue = [t for t in overdue if t.region_code.startswith(within)]
    return {"report": data, "overdue": overdue, "today": reviews.today(), "source": source}


def _source_line(ui: Ui, source: service.Source) -> str:
    when = local_time(source.as_of)
    return ui.gettext(SOURCE_LABELS[source.kind]) % {"time": when}


def _trend_chart(ui: Ui, months: list[dict[str, Any]]) -> str:
    """The monthly trend as an SVG line chart, in the page's language."""
    return charts.line_chart(
        [m["month"] for m in months],
        {
            ui.gettext("Mean working days"): [m["mean_days"] for m in months],
            ui.gettext("Done on time (× 10)"): [
                None if m["on_time"] is None else m["on_time"] * 10 for m in months
            ],
        },
        title=ui.gettext("Mean working days and share done on time, month by month"),
    )


@router.get("/insight")
def dashboard(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    period: Annotated[str | None, Query()] = None,
    region: Annotated[str | None, Query()] = None,
) -> Response:
    """Headline figures with their readings, groups (age, urban/rural, zone), the slowest and
    least standardized counties, overdue rectifications and the monthly trend."""
    actor = ui.require_actor()
    form = FormState(values={"period": period or "", "region": region or ""})
    try:
        p = service.parse_period(period) if period else service.current_quarter()
    except Invalid as exc:
        ui.form_errors(form, exc)
        p = service.current_quarter()
    try:
        within = service.scope_for(actor, region or None)
    except Invalid as exc:
        ui.form_errors(form, exc)
        within = service.scope_for(actor, None)
    if not period:
        form.values["period"] = p.label
    data = dashboard_data(session, settings, period=p, within=within)
    d = data["report"]
    return ui.render(
        "insight/dashboard.html",
        title=ui.gettext("Data insight"),
        status_code=422 if form.has_errors else 200,
        form=form,
        d=d,
        overdue=data["overdue"],
        today=data["today"],
        source=_source_line(ui, data["source"]),
        trend_chart=_trend_chart(ui, d["months"]),
        groups={
            g: sorted(d["groups"][g], key=lambda r: ORDER.get(r["value"], len(ORDER)))
            for g in GROUP_LABELS
        },
        readings=[r["en" if ui.locale == "en" else "zh"] for r in d["readings"]],
        f=Figures(),
        metric_labels={k: ui.gettext(v) for k, v in METRIC_LABELS.items()},
        columns=COLUMNS,
        group_labels={k: ui.gettext(v) for k, v in GROUP_LABELS.items()},
        value_labels={k: ui.gettext(v) for k, v in VALUE_LABELS.items()},
        year=p.start.year,
    )
