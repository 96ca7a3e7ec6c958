"""The security console (安全控制台) for operators: alerts by severity, region and kind, one
alert with its evidence and triage, the summary per region and level, an account's security
timeline, and the rules. Forms post here and go back to their page; a refused step re-renders
the page with a readable message, nothing written."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query
from starlette.responses import Response

from tongban.guard import rules as R
from tongban.guard import service as guard
from tongban.guard.api import region_rows
from tongban.identity.deps import PageUi
from tongban.platform.db import uow
from tongban.platform.errors import AppError
from tongban.platform.web.deps import DbSession, RowId
from tongban.platform.web.rendering import N_, NOTICES, FormState, Ui, add_templates

router = APIRouter(tags=["guard pages"], include_in_schema=False)
add_templates(FilePath(__file__).parent / "templates")

NOTICES.update(
    alert_triaged=N_("The alert is updated."),
    response_reversed=N_("The response is reversed: the block is lifted."),
    rule_saved=N_("The rule is saved; the detector uses it within half a minute."),
)
KIND_LABELS: dict[str, str] = {
    "login.bruteforce": N_("Password guessing on one account"),
    "login.spray": N_("Password spraying across accounts"),
    "identity.bulk_reveal": N_("Bulk look-ups of resident IDs or files"),
    "access.out_of_jurisdiction": N_("Access outside the jurisdiction"),
    "exchange.fetch_without_case": N_("Data fetched without an open case"),
    "export.bulk": N_("Bulk export"),
    "login.new_place_odd_hour": N_("Login from a new place at night"),
    "token.new_place_odd_hour": N_("API token used from a new place at night"),
    "proxy.many_principals": N_("Acting for many people"),
    "node.foreign_region": N_("A node speaking for regions it does not serve"),
    "behaviour.anomaly": N_("Unusual behaviour"),
}
SEVERITY_LABELS: dict[str, str] = {
    "low": N_("Low"),
    "medium": N_("Medium"),
    "high": N_("High"),
    "critical": N_("Critical"),
}
STATE_LABELS: dict[str, str] = {
    "open": N_("Open"),
    "acknowledged": N_("Acknowledged"),
    "escalated": N_("Escalated"),
    "closed": N_("Closed"),
}
ACTION_LABELS: dict[str, str] = {
    R.NOTIFY: N_("Notify the operators"),
    R.REAUTHENTICATE: N_("Require a new login"),
    R.BLOCK_ADDRESS: N_("Block the client address"),
    R.BLOCK_ACCOUNT_LOGINS: N_("Block the account's logins for a while"),
    R.LOCK_ACCOUNT: N_("Lock the account pending review"),
    R.SUSPEND_TOKEN: N_("Suspend the API token"),
}
OUTCOME_LABELS: dict[str, str] = {
    "true_positive": N_("A real attack or misuse"),
    "false_positive": N_("A false alarm"),
}
RESULT_LABELS: dict[str, str] = {
    "done": N_("Taken"),
    "skipped": N_("Not applicable"),
    "reversed": N_("Reversed"),
}
LEVEL_LABELS: dict[str, str] = {
    "province": N_("Province"),
    "city": N_("City"),
    "county": N_("County"),
}
# The services' refusals an operator may meet, marked so that the catalogs translate them.
SERVICE_MESSAGES = (
    N_("Close an alert as a true or a false positive."),
    N_("Write a note when closing an alert."),
    N_("This alert is closed."),
    N_("Give the reason for reversing the response."),
    N_("This response was reversed already."),
    N_("Only blocks can be reversed; this response placed none."),
    N_("The threshold or the window is out of range."),
)


def _labels(ui: Ui) -> dict[str, Any]:
    def tr(table: dict[str, str]) -> dict[str, str]:
        return {k: ui.gettext(v) for k, v in table.items()}

    return {
        "kinds": tr(KIND_LABELS),
        "severities": tr(SEVERITY_LABELS),
        "states": tr(STATE_LABELS),
        "actions": tr(ACTION_LABELS),
        "outcomes": tr(OUTCOME_LABELS),
        "levels": tr(LEVEL_LABELS),
        "results": tr(RESULT_LABELS),
    }


def _explanation(ui: Ui, alert: guard.AlertView) -> str:
    return alert.explanation_en if ui.locale == "en" else alert.explanation_zh


@router.get("/guard")
def alerts_page(
    ui: PageUi,
    session: DbSession,
    kind: Annotated[str, Query(max_length=48)] = "",
    severity: Annotated[str, Query(max_length=12)] = "",
    state: Annotated[str, Query(max_length=16)] = "",
    region: Annotated[str, Query(max_length=12, pattern=r"^\d{0,12}$")] = "",
) -> Response:
    """Alerts by severity, region and kind, the open ones first in mind."""
    actor = ui.require_actor()
    alerts = guard.list_alerts(
        session,
        actor=actor,
        kind=kind if kind in R.KINDS else None,
        severity=severity if severity in R.SEVERITIES else None,
        state=state if state in guard.STATES else None,
        region=region or None,
        limit=200,
    )
    cursor, newest, lag = guard.cursor_state(session)
    return ui.render(
        "guard/alerts.html",
        title=ui.gettext("Security console"),
        alerts=[(a, _explanation(ui, a)) for a in alerts],
        filters={"kind": kind, "severity": severity, "state": state, "region": region},
        backlog=max(newest - cursor, 0),
        lag=lag,
        **_labels(ui),
    )


def render_alert(
    ui: Ui, session: Any, alert_id: int, *, form: FormState | None = None, status_code: int = 200
) -> Response:
    """One alert: explanation, who and where, evidence with receipts, responses, triage."""
    alert = guard.get_alert(session, actor=ui.require_actor(), alert_id=alert_id)
    return ui.render(
        "guard/alert.html",
        title=ui.gettext("Alert #%(num)d") % {"num": alert.id},
        alert=alert,
        explanation=_explanation(ui, alert),
        form=form or FormState(),
        status_code=status_code,
        **_labels(ui),
    )


@router.get("/guard/alerts/{alert_id}")
def alert_page(alert_id: RowId, ui: PageUi, session: DbSession) -> Response:
    """One alert with its evidence and triage."""
    return render_alert(ui, session, alert_id)


@router.post("/guard/alerts/{alert_id}/triage")
def triage_alert(
    alert_id: RowId,
    ui: PageUi,
    session: DbSession,
    action: Annotated[str, Form(max_length=12)] = "",
    outcome: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Acknowledge, escalate, or close as a true or false positive with a note."""
    actor = ui.require_actor()
    guard.authorize_triage(actor)
    form = FormState(values={"note": note, "outcome": outcome})
    try:
        with uow.attempt(session):
            guard.triage(
                session,
                actor=actor,
                alert_id=alert_id,
                action=action if action in ("acknowledge", "escalate", "close") else "?",
                note=note,
                outcome=outcome or None,
            )
    except AppError as exc:
        if exc.status == 404:
            raise
        form.add("note" if "note" in exc.detail else "form", ui.gettext(exc.detail))
        return render_alert(ui, session, alert_id, form=form, status_code=exc.status)
    return ui.redirect(f"/guard/alerts/{alert_id}", notice="alert_triaged")


@router.post("/guard/responses/{response_id}/reverse")
def reverse_response(
    response_id: RowId,
    ui: PageUi,
    session: DbSession,
    alert: Annotated[int, Form(ge=1, le=2**53)] = 1,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Take back an automatic block, with the reason."""
    actor = ui.require_actor()
    guard.authorize_triage(actor)
    try:
        with uow.attempt(session):
            view = guard.reverse_response(
                session, actor=actor, response_id=response_id, reason=reason
            )
    except AppError as exc:
        if exc.status == 404:
            raise
        form = FormState(values={f"reason-{response_id}": reason})
        form.add("form", ui.gettext(exc.detail))
        return render_alert(ui, session, alert, form=form, status_code=exc.status)
    return ui.redirect(f"/guard/alerts/{view.id}", notice="response_reversed")


@router.get("/guard/regions")
def regions_page(
    ui: PageUi,
    session: DbSession,
    level: Literal["province", "city", "county"] = "county",
) -> Response:
    """Alerts per region at a level over 30 days, so that weak places stand out."""
    actor = ui.require_actor()
    rows = region_rows(session, guard.region_summary(session, actor=actor, level=level))
    return ui.render(
        "guard/regions.html",
        title=ui.gettext("Security by region"),
        rows=rows,
        level=level,
        **_labels(ui),
    )


@router.get("/guard/accounts/{account_id}")
def account_page(account_id: RowId, ui: PageUi, session: DbSession) -> Response:
    """An account's recent security timeline and its alerts."""
    actor = ui.require_actor()
    entries = guard.timeline(session, actor=actor, account_id=account_id)
    alerts = guard.list_alerts(session, actor=actor, account_id=account_id, limit=50)
    return ui.render(
        "guard/account.html",
        title=ui.gettext("Security timeline of account %(num)d") % {"num": account_id},
        account_id=account_id,
        entries=entries,
        alerts=alerts,
        **_labels(ui),
    )


def render_rules(
    ui: Ui, session: Any, *, form: FormState | None = None, status_code: int = 200
) -> Response:
    """The rules with their forms."""
    guard.authorize_read(ui.require_actor())
    return ui.render(
        "guard/rules.html",
        title=ui.gettext("Detection rules"),
        rules=guard.list_rules(session),
        form=form or FormState(),
        all_actions=R.ACTIONS,
        status_code=status_code,
        **_labels(ui),
    )


@router.get("/guard/rules")
def rules_page(ui: PageUi, session: DbSession) -> Response:
    """The detection rules operators tune: severity, window, threshold, actions."""
    return render_rules(ui, session)


@router.post("/guard/rules/{kind}")
def save_rule(
    kind: Annotated[str, Path(max_length=48, pattern=r"^[a-z_.]+$")],
    ui: PageUi,
    session: DbSession,
    severity: Annotated[str, Form(max_length=12)] = "",
    threshold: Annotated[int, Form(ge=1, le=1_000_000)] = 1,
    window_minutes: Annotated[int, Form(ge=1, le=10080)] = 60,
    enabled: Annotated[str, Form(max_length=3)] = "",
    actions: Annotated[list[str] | None, Form(max_length=6)] = None,
) -> Response:
    """Save a rule's settings."""
    actor = ui.require_actor()
    guard.authorize_configure(actor)
    try:
        with uow.attempt(session):
            guard.update_rule(
                session,
                kind=kind,
                actor=actor,
                enabled=enabled == "on",
                severity=severity,
                threshold=threshold,
                window_seconds=window_minutes * 60,
                actions=actions or [],
            )
    except AppError as exc:
        if exc.status == 404:
            raise
        form = FormState()
        form.add("form", f"{kind}: {ui.gettext(exc.detail)}")
        return render_rules(ui, session, form=form, status_code=exc.status)
    return ui.redirect("/guard/rules", notice="rule_saved")
