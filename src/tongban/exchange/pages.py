"""HTML pages of the exchange: the resource catalogue (public, searchable), and for data
stewards the sharing requests (with overdue replies flagged) and the agreements (their Cedar
policies and hashes). The forms that publish, request, answer and revoke post to
exchange/steward_pages.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from tongban.exchange import catalogue, fetch_pages, requests
from tongban.exchange.api import agreement_read, request_read
from tongban.exchange.schemas import Sharing
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.identity.service import Role
from tongban.platform.web.deps import DbSession
from tongban.platform.web.rendering import N_, FormState, add_templates

router = APIRouter(tags=["exchange pages"], include_in_schema=False)
router.include_router(fetch_pages.router)
add_templates(Path(__file__).parent / "templates")

SHARING: dict[str, str] = {
    Sharing.UNCONDITIONAL.value: N_("Shared without conditions"),
    Sharing.CONDITIONAL.value: N_("Shared on conditions"),
    Sharing.NONE.value: N_("Not shared"),
}
STATUSES: dict[str, str] = {
    "pending": N_("Waiting for the provider"),
    "approved": N_("Request approved"),
    "refused": N_("Request refused"),
    "active": N_("In force"),
    "expired": N_("Expired"),
    "revoked": N_("Revoked"),
}
FREQUENCIES: dict[str, str] = {
    "realtime": N_("Real time"),
    "daily": N_("Daily"),
    "weekly": N_("Weekly"),
    "monthly": N_("Monthly"),
    "yearly": N_("Yearly"),
}


def _labels(ui: Any) -> dict[str, Any]:
    return {
        "sharing": {k: ui.gettext(v) for k, v in SHARING.items()},
        "statuses": {k: ui.gettext(v) for k, v in STATUSES.items()},
        "frequencies": {k: ui.gettext(v) for k, v in FREQUENCIES.items()},
    }


@router.get("/exchange")
def catalogue_page(
    ui: PageUi, session: DbSession, q: Annotated[str, Query(max_length=60)] = ""
) -> Response:
    """The data resource catalogue (政务数据资源目录): what departments share, on what terms."""
    return render_catalogue(ui, session, q=q)


def render_catalogue(
    ui: Any, session: Any, *, q: str = "", form: FormState | None = None, status_code: int = 200
) -> Response:
    """The catalogue page, with the publish form (its values and errors kept) for stewards."""
    actor = ui.actor
    may_publish = actor is not None and actor.role in (Role.STEWARD, Role.ADMIN)
    return ui.render(
        "exchange/catalogue.html",
        title=ui.gettext("Government data catalogue"),
        q=q,
        resources=catalogue.list_resources(session, q=q or None),
        may_publish=may_publish,
        form=form or FormState(values={"sharing": "conditional"}),
        status_code=status_code,
        **_labels(ui),
    )


def _field_labels(resource: Any, names: list[str]) -> str:
    """The fields' Chinese labels (as the catalogue names them), in the request's order."""
    labels = {str(f["name"]): str(f["label"]) for f in resource.fields}
    return "、".join(labels.get(name, name) for name in names)


def _region(ui: Any) -> str | None:
    actor = ui.require_actor()
    return None if actor.role is Role.ADMIN else actor.region_root or "-"


@router.get("/exchange/requests")
def requests_page(ui: PageUi, session: DbSession) -> Response:
    """Sharing requests to and from the steward's jurisdiction; late replies flagged."""
    return render_requests(ui, session)


def render_requests(
    ui: Any, session: Any, *, form: FormState | None = None, status_code: int = 200
) -> Response:
    """The requests page with the new-request form (values and errors kept)."""
    identity.authorize(ui.require_actor(), "exchange.request.read")
    rows = []
    for row in requests.list_requests(session, region=_region(ui)):
        read = request_read(session, row)
        resource = catalogue.get_resource(session, code=read.resource)
        consumer = identity.get_department(session, department_id=row.consumer_department_id)
        fields = _field_labels(resource, read.fields)
        rows.append({"read": read, "consumer": consumer.name, "fields": fields})
    return ui.render(
        "exchange/requests.html",
        title=ui.gettext("Data sharing requests"),
        rows=rows,
        form=form or FormState(values={"duration_days": "365"}),
        status_code=status_code,
        **_labels(ui),
    )


@router.get("/exchange/agreements")
def agreements_page(ui: PageUi, session: DbSession) -> Response:
    """Sharing agreements: who may fetch what for which items until when, with the policy."""
    return render_agreements(ui, session)


def render_agreements(
    ui: Any, session: Any, *, form: FormState | None = None, status_code: int = 200
) -> Response:
    """The agreements page (a refused revocation's message kept)."""
    actor = ui.require_actor()
    identity.authorize(actor, "exchange.agreement.read")
    region = _region(ui)
    rows = []
    for row in requests.list_agreements(session):
        read = agreement_read(session, row)
        consumer = identity.get_department(session, department_id=row.consumer_department_id)
        resource = catalogue.get_resource(session, code=read.resource)
        if region is None or any(
            identity.within(root=region, code=code)
            for code in (consumer.region_code, resource.region_code)
        ):
            rows.append(
                {
                    "read": read,
                    "consumer": consumer.name,
                    "resource": resource,
                    "fields": _field_labels(resource, read.fields),
                }
            )
    return ui.render(
        "exchange/agreements.html",
        title=ui.gettext("Data sharing agreements"),
        rows=rows,
        form=form or FormState(),
        status_code=status_code,
        **_labels(ui),
    )
