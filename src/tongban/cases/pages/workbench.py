"""The official's workbench: the queue of their department in their jurisdiction, searched and
filtered with a plain GET form, and the day's list as a PDF to download (phones cannot print)."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from tongban.cases import daylist, decisions, queries, supplements
from tongban.cases import service as cases
from tongban.cases.pages.common import _labels
from tongban.cases.schemas import QueueRow
from tongban.events import service as events
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.errors import Invalid
from tongban.platform.web.deps import AppSettings, DbSession
from tongban.platform.web.rendering import N_, FormState, Ui

router = APIRouter()

_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9Xx]")

# How a case came in, in words (the queue's channel column and filter).
CHANNELS: dict[str, str] = {
    "online": N_("Online, by the applicant"),
    "assisted": N_("At a service point counter"),
    "proxy": N_("By an authorised relative"),
    "api": N_("Through a connected system"),
}
DUE: dict[str, str] = {
    "week": N_("Due this week"),
    "overdue": N_("Overdue"),
}
# The form's fields, in the order of the query string (the PDF link carries the same filters).
FILTERS = (
    "number",
    "applicant",
    "item",
    "state",
    "due",
    "channel",
    "service_point",
    "assignee",
    "view",
)


def queue_search(request: Request) -> dict[str, str]:
    """The queue's search from the query string: the workbench and its day list read the same."""
    values = {name: request.query_params.get(name, "") for name in FILTERS}
    values["view"] = values["view"] or "handling"
    return values


QueueSearch = Annotated[dict[str, str], Depends(queue_search)]


def _filter(values: dict[str, str]) -> queries.QueueFilter:
    def opt(name: str) -> str | None:
        return values.get(name, "").strip() or None

    return queries.QueueFilter(
        view=opt("view") or "handling",
        state=opt("state"),
        number=opt("number"),
        applicant=opt("applicant"),
        item=opt("item"),
        due=opt("due"),
        channel=opt("channel"),
        service_point=opt("service_point"),
        assignee=opt("assignee"),
    )


def _search(
    ui: Ui, session: DbSession, settings: AppSettings, values: dict[str, str], *, limit: int
) -> tuple[FormState, list[QueueRow]]:
    """The queue as filtered, or the form with a message per bad filter (and no rows)."""
    actor = ui.require_actor()
    identity.authorize(actor, "case.queue")
    form = FormState(values=values)
    try:
        page = cases.queue(
            session, actor=actor, settings=settings, limit=limit, query=_filter(values)
        )
    except Invalid as exc:
        ui.form_errors(form, exc)
        return form, []
    return form, page.items


def _words(ui: Ui, session: DbSession, items: list[QueueRow]) -> dict[str, Any]:
    """The labels of the page, with each decided row's state in its item type's words."""
    labels = _labels(ui)
    decided: dict[str, str] = {}
    for row in items:
        if row.state in ("approved", "rejected"):
            words = decisions.words_of_item(session, row.item_code)
            # Chosen before gettext: babel would take a literal inside the call for a message.
            message = words.approved if row.state == "approved" else words.rejected
            decided[row.number] = ui.gettext(message)
    return {**labels, "decided": decided}


@router.get("/work")
def workbench(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    values: QueueSearch,
) -> Response:
    """My queue, nearest deadline first, with overdue and due-soon marks (text and icon),
    searched by number, applicant, item, state, deadline, channel, service point or assignee."""
    actor = ui.require_actor()
    identity.authorize(actor, "case.queue")
    form, items = _search(ui, session, settings, values, limit=100)
    # Each 补正's lines at a glance: how many are answered, how many answers wait for us.
    waiting = [c.number for c in items if c.state == "supplement_requested"]
    labels = _words(ui, session, items)
    # The PDF link repeats the search, but never a resident ID in clear (URLs end up in logs).
    query = urlencode(
        [
            (name, values[name])
            for name in FILTERS
            if values[name] and not (name == "applicant" and _RESIDENT_ID.search(values[name]))
        ]
    )
    return ui.render(
        "cases/workbench.html",
        title=ui.gettext("Workbench"),
        form=form,
        items=items,
        filtered=any(values[name] for name in FILTERS if name != "view"),
        # The less used filters fold away (a phone shows the list sooner) unless in use.
        more_open=form.has_errors
        or values["view"] != "handling"
        or any(values[name] for name in ("state", "due", "channel", "service_point", "assignee")),
        state_options=[("", ui.gettext("All open cases"))]
        + [
            (s, labels["states"][s])
            for s in (
                "received",
                "accepted",
                "supplement_requested",
                "special_procedure",
                "approved",
                "rejected",
            )
        ],
        due_options=[("", ui.gettext("Any deadline"))]
        + [(k, ui.gettext(v)) for k, v in DUE.items()],
        channel_options=[("", ui.gettext("Any channel"))]
        + [(k, ui.gettext(v)) for k, v in CHANNELS.items()],
        point_options=[("", ui.gettext("Any service point"))]
        + [
            (code, f"{name} ({code})")
            for code, name in queries.service_points_in_queue(session, actor=actor)
        ],
        channels={k: ui.gettext(v) for k, v in CHANNELS.items()},
        query=query,
        supplement_progress=supplements.progress(session, numbers=waiting),
        status_code=422 if form.has_errors else 200,
        **labels,
    )


@router.get("/work/day-list.pdf")
def day_list(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    values: QueueSearch,
) -> Response:
    """Today's list (the queue as filtered) as a PDF download: number, item, applicant
    (masked), state, deadline, channel and service point. Bad filters show the workbench."""
    form, items = _search(ui, session, settings, values, limit=500)
    if form.has_errors:
        return workbench(ui, session, settings, values)
    labels = _words(ui, session, items)
    day = queries.today()
    actor = ui.require_actor()
    words = daylist.DayListWords(
        title=ui.gettext("Day list %(date)s") % {"date": day.isoformat()},
        subtitle=ui.gettext("%(name)s: %(num)d cases, nearest deadline first")
        % {"name": actor.display_name or actor.username, "num": len(items)},
        headers=[
            ui.gettext("Case"),
            ui.gettext("Service"),
            ui.gettext("Applicant"),
            ui.gettext("Status"),
            ui.gettext("Deadline"),
            ui.gettext("Channel"),
            ui.gettext("Service point"),
        ],
        states=labels["states"],
        row_states=labels["decided"],
        channels={k: ui.gettext(v) for k, v in CHANNELS.items()},
        urgency={k: label for k, (_, label) in labels["urgency"].items() if k != "ok"},
        empty=ui.gettext("No cases match."),
        lang="en" if ui.locale == "en" else "zh-CN",
    )
    pdf = daylist.day_list_pdf(items, words=words)
    # A download of personal data, counted by the guard's export.bulk rule (counts only).
    events.record(
        session,
        action="case.day_list_exported",
        resource_type="day_list",
        resource_id=day.isoformat(),
        channel="online",
        actor_id=actor.account_id,
        actor_role=str(actor.role),
        data={"v": 1, "rows": len(items), "format": "pdf"},
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="day-list-{day.isoformat()}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )
