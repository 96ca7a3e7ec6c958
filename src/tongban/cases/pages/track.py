"""Following a case without logging in (进度查询): the form (case number and the applicant's name
as filed), and the signed tracking link of the receipt's QR code and the SMS notices. The page
shows the state, the steps with their dates and the deadlines; nothing about people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from tongban.cases import tracking
from tongban.cases.links import TrackLinkInvalid
from tongban.cases.pages.common import TIMELINE, _labels
from tongban.identity.deps import PageUi
from tongban.platform.web.deps import AppSettings, DbSession
from tongban.platform.web.rendering import N_, FormState, Ui

router = APIRouter()

NO_MATCH = N_("No case matches this case number and name.")
LIMITED = N_("Too many look-ups did not match. Please wait %(minutes)d minutes, then try again.")
LINK_INVALID = N_("This tracking link is not valid. Enter the case number and the name instead.")
LINK_EXPIRED = N_("This tracking link has expired. Enter the case number and the name instead.")
NUMBER_MISSING = N_("Enter the case number from your receipt.")
NAME_MISSING = N_("Enter the applicant's name.")


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _page(
    ui: Ui,
    *,
    form: FormState | None = None,
    read: tracking.TrackRead | None = None,
    status_code: int = 200,
) -> Response:
    labels = _labels(ui)
    response = ui.render(
        "cases/track.html",
        title=ui.gettext("Follow a case") if read is None else read.item_name,
        form=form or FormState(),
        case=read,
        # The case page's step names: the tracking view shows only the case's own steps.
        step_labels={k: ui.gettext(v) for k, v in TIMELINE.items()},
        states=labels["states"],
        next_steps=labels["next_steps"],
        status_code=status_code,
    )
    # A tracking view is one person's business: never kept by a cache, never indexed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.get("/track")
def track_page(ui: PageUi, number: str = "") -> Response:
    """The form: a case number (from the receipt) and the applicant's name."""
    return _page(ui, form=FormState(values={"number": number[:40]}))


@router.post("/track")
def track_submit(
    request: Request,
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    number: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The case's state, steps and deadlines when the number and the name match; else the
    same message whether the number exists or not."""
    form = FormState(values={"number": number.strip(), "name": name.strip()})
    if not number.strip():
        form.add("number", ui.gettext(NUMBER_MISSING))
    if not name.strip():
        form.add("name", ui.gettext(NAME_MISSING))
    if form.has_errors:
        return _page(ui, form=form, status_code=422)
    try:
        # A failed look-up writes its count only; the page answers normally, so it is kept.
        read = tracking.track_by_name(
            session,
            number=number,
            name=name,
            client_ip=_client_ip(request),
            settings=settings,
        )
    except tracking.TrackLimited as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        form.add("form", ui.gettext(LIMITED) % {"minutes": minutes})
        response = _page(ui, form=form, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except tracking.TrackNotFound:
        form.add("form", ui.gettext(NO_MATCH))
        return _page(ui, form=form, status_code=404)
    return _page(ui, read=read)


@router.get("/track/t/{token}")
def track_link(token: str, ui: PageUi, session: DbSession, settings: AppSettings) -> Response:
    """The tracking view of the case a signed link (QR code, SMS) was made for; a forged or
    expired link gets a message and the form."""
    try:
        read = tracking.track_by_token(session, token=token[:100], settings=settings)
    except TrackLinkInvalid as exc:
        form = FormState()
        form.add("form", ui.gettext(LINK_EXPIRED if exc.expired else LINK_INVALID))
        return _page(ui, form=form, status_code=404)
    return _page(ui, read=read)
