"""Help (求助): the 12345 hotline, the service points near the person, and a request that a
clerk of the nearest one calls back and does it for them (请工作人员帮我办); the desk's list of
those requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from starlette.responses import Response

from tongban.cases import help as helping
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.db import uow
from tongban.platform.errors import Forbidden, Invalid, TooManyRequests
from tongban.platform.web.deps import AppSettings, DbSession, RowId
from tongban.platform.web.rendering import N_, NOTICES, FormState, Ui
from tongban.regions import service as regions

router = APIRouter()

NOTICES.update(help_done=N_("Marked as called back."))
WAITING = N_(
    "This phone number already has requests waiting. A clerk will call you; you can also "
    "call 12345."
)


def region_label(session: DbSession, code: str) -> str:
    """A region's full name, province first."""
    return regions.full_name(session, code=code)


def _places(session: DbSession) -> list[tuple[str, str]]:
    """The places people can choose: the regions where a service point works."""
    return [(code, region_label(session, code)) for code in identity.service_points(session)]


def _home_region(ui: Ui, session: DbSession, settings: AppSettings) -> str | None:
    actor = ui.actor
    if actor is None:
        return None
    region = identity.household_region(session, account_id=actor.account_id, settings=settings)
    return region or actor.region_root


def _page(
    ui: Ui,
    session: DbSession,
    settings: AppSettings,
    form: FormState,
    *,
    sent: helping.HelpRequestView | None = None,
    status_code: int = 200,
) -> Response:
    places = _places(session)
    home = _home_region(ui, session, settings)
    near = helping.nearest_service_point([code for code, _ in places], home) if home else None
    if "region" not in form.values and near:
        form.values["region"] = near
    return ui.render(
        "cases/help.html",
        title=ui.gettext("Help"),
        form=form,
        places=places,
        near=region_label(session, near) if near else None,
        sent=sent,
        sent_place=region_label(session, sent.service_point) if sent else None,
        status_code=status_code,
    )


@router.get("/help")
def help_page(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    region: Annotated[str, Query(max_length=12)] = "",
    topic: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Where to get help, and the call-back request form (`region` and `topic` pre-filled
    by links such as the service assistant's 帮办 button)."""
    values: dict[str, str] = {}
    if ui.actor is not None:
        card = identity.account_card(session, account_id=ui.actor.account_id)
        values = {"name": card.display_name, "phone": card.phone or ""}
    if topic:
        values["topic"] = topic
    if region.isdigit() and region in set(identity.service_points(session)):
        values["region"] = region
    return _page(ui, session, settings, ui.restored_form() or FormState(values=values))


@router.post("/help")
def help_request(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    region: Annotated[str, Form(max_length=12)] = "",
    topic: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Ask the service point of the chosen place to call back."""
    form = FormState(values={"name": name, "phone": phone, "region": region, "topic": topic})
    try:
        with uow.attempt(session):
            sent = helping.request_help(
                session,
                name=name,
                phone=phone,
                region_code=region,
                topic=topic,
                account_id=ui.actor.account_id if ui.actor else None,
            )
    except Invalid as exc:
        return _page(ui, session, settings, ui.form_errors(form, exc), status_code=422)
    except TooManyRequests:
        form.add("phone", ui.gettext(WAITING))
        return _page(ui, session, settings, form, status_code=429)
    return _page(ui, session, settings, FormState(), sent=sent)


def _clerk(ui: Ui) -> identity.Actor:
    actor = ui.require_actor()
    if actor.role != identity.Role.CLERK:
        raise Forbidden("The call-back list is for service-point clerks.")
    return actor


@router.get("/desk/help")
def desk_help(ui: PageUi, session: DbSession) -> Response:
    """The people waiting for a call back from this service point, oldest first."""
    actor = _clerk(ui)
    return ui.render(
        "cases/desk_help.html",
        title=ui.gettext("Call-back requests"),
        requests=helping.waiting_requests(session, actor=actor),
    )


@router.post("/desk/help/{request_id}/done")
def desk_help_done(request_id: RowId, ui: PageUi, session: DbSession) -> Response:
    """The clerk called back: the request leaves the list."""
    actor = _clerk(ui)
    helping.mark_done(session, request_id=request_id, actor=actor)
    return ui.redirect("/desk/help", notice="help_done")
