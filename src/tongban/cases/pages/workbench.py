"""The official's workbench: the queue of their department in their jurisdiction."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from tongban.cases import service as cases
from tongban.cases import supplements
from tongban.cases.pages.common import (
    _labels,
)
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.errors import (
    Invalid,
)
from tongban.platform.web.deps import AppSettings, DbSession
from tongban.platform.web.rendering import FormState

router = APIRouter()

# --- official: the workbench -------------------------------------------------------------------


@router.get("/work")
def workbench(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    state: str = "",
    item: str = "",
    view: str = "handling",
) -> Response:
    """My queue, nearest deadline first, with overdue and due-soon marks (text and icon)."""
    actor = ui.require_actor()
    identity.authorize(actor, "case.queue")
    form = FormState(values={"state": state, "item": item, "view": view})
    items: list[Any] = []
    try:
        page = cases.queue(
            session,
            actor=actor,
            settings=settings,
            state=state or None,
            item=item.strip() or None,
            view=view if view in ("handling", "co-handling") else "handling",
            limit=100,
        )
        items = page.items
    except Invalid as exc:
        ui.form_errors(form, exc)
    labels = _labels(ui)
    # Each 补正's lines at a glance: how many are answered, how many answers wait for us.
    waiting = [c.number for c in items if c.state == "supplement_requested"]
    return ui.render(
        "cases/workbench.html",
        title=ui.gettext("Workbench"),
        form=form,
        items=items,
        state_options=[("", ui.gettext("All open cases"))]
        + [
            (s, labels["states"][s])
            for s in ("received", "accepted", "supplement_requested", "special_procedure")
        ],
        supplement_progress=supplements.progress(session, numbers=waiting),
        status_code=422 if form.has_errors else 200,
        **labels,
    )
