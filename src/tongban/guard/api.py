"""JSON routes of the security brain (admins): alerts with their evidence, triage, the
reversal of automatic responses, the rules, the summary per region and an account's
security timeline."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from tongban.guard import service as guard
from tongban.guard.schemas import (
    AlertRead,
    EvidenceRead,
    RegionRead,
    ResponseRead,
    ReverseIn,
    RuleIn,
    RuleRead,
    Severity,
    State,
    TimelineRead,
    TriageIn,
)
from tongban.identity.deps import CurrentActor
from tongban.platform.web.deps import DbSession, RowId, SkipQuery
from tongban.regions import service as regions

router = APIRouter(prefix="/guard", tags=["guard"])

Kind = Annotated[str, Path(max_length=48, pattern=r"^[a-z_.]+$")]


def alert_read(alert: guard.AlertView) -> AlertRead:
    """The API shape of an alert."""
    return AlertRead(
        id=alert.id,
        kind=alert.kind,
        severity=alert.severity,
        state=alert.state,
        subject=alert.subject,
        region_code=alert.region_code,
        accounts=alert.accounts,
        regions=alert.regions,
        nodes=alert.nodes,
        evidence=[
            EvidenceRead(
                event_id=e["id"], event_uid=e["uid"], receipt=f"/api/v1/ledger/receipts/{e['uid']}"
            )
            for e in alert.evidence
        ],
        facts=alert.facts,
        explanation_zh=alert.explanation_zh,
        explanation_en=alert.explanation_en,
        first_event_at=alert.first_event_at,
        last_event_at=alert.last_event_at,
        raised_at=alert.raised_at,
        assignee_id=alert.assignee_id,
        outcome=alert.outcome,
        note=alert.note,
        responses=[_response(r) for r in alert.responses],
    )


def _response(r: guard.ResponseView) -> ResponseRead:
    return ResponseRead(
        id=r.id,
        action=r.action,
        target=r.target,
        block_id=r.block_id,
        outcome=r.outcome,
        created_at=r.created_at,
        reversed_at=r.reversed_at,
    )


@router.get("/alerts", response_model=list[AlertRead])
def list_alerts(
    actor: CurrentActor,
    session: DbSession,
    kind: Annotated[str | None, Query(max_length=48)] = None,
    severity: Severity | None = None,
    state: State | None = None,
    region: Annotated[str | None, Query(max_length=12, pattern=r"^\d{2,12}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    skip: SkipQuery = 0,
) -> list[AlertRead]:
    """Alerts, newest first, by kind, severity, state and region (a code prefix)."""
    found = guard.list_alerts(
        session,
        actor=actor,
        kind=kind,
        severity=severity,
        state=state,
        region=region,
        limit=limit,
        offset=skip,
    )
    return [alert_read(a) for a in found]


@router.get("/alerts/{alert_id}", response_model=AlertRead)
def get_alert(alert_id: RowId, actor: CurrentActor, session: DbSession) -> AlertRead:
    """One alert with its evidence (event ids and receipts) and responses."""
    return alert_read(guard.get_alert(session, actor=actor, alert_id=alert_id))


@router.post("/alerts/{alert_id}/actions/{action}", response_model=AlertRead)
def triage_alert(
    alert_id: RowId,
    action: Literal["acknowledge", "assign", "escalate", "close"],
    body: TriageIn,
    actor: CurrentActor,
    session: DbSession,
) -> AlertRead:
    """Acknowledge, assign, escalate, or close as a true or false positive (with a note)."""
    return alert_read(
        guard.triage(
            session,
            actor=actor,
            alert_id=alert_id,
            action=action,
            note=body.note,
            outcome=body.outcome,
            assignee_id=body.assignee_id,
        )
    )


@router.post("/responses/{response_id}/reverse", response_model=AlertRead)
def reverse_response(
    response_id: RowId, body: ReverseIn, actor: CurrentActor, session: DbSession
) -> AlertRead:
    """Take back an automatic block (with the reason); the alert it answered."""
    return alert_read(
        guard.reverse_response(session, actor=actor, response_id=response_id, reason=body.reason)
    )


def _rule_read(rule: guard.RuleView) -> RuleRead:
    return RuleRead(**{name: getattr(rule, name) for name in RuleRead.model_fields})


@router.get("/rules", response_model=list[RuleRead])
def list_rules(actor: CurrentActor, session: DbSession) -> list[RuleRead]:
    """The detection rules in force."""
    guard.authorize_read(actor)
    return [_rule_read(r) for r in guard.list_rules(session)]


@router.put("/rules/{kind}", response_model=RuleRead)
def update_rule(kind: Kind, body: RuleIn, actor: CurrentActor, session: DbSession) -> RuleRead:
    """Change a rule's severity, window, threshold, overrides and actions."""
    return _rule_read(
        guard.update_rule(
            session,
            kind=kind,
            actor=actor,
            enabled=body.enabled,
            severity=body.severity,
            threshold=body.threshold,
            window_seconds=body.window_seconds,
            actions=body.actions,
            overrides=body.overrides,
        )
    )


def region_rows(session: Session, rows: list[guard.RegionRow]) -> list[RegionRead]:
    """The summary rows with the regions' names."""
    out = []
    for row in rows:
        found = regions.find(session, code=row.code)
        out.append(
            RegionRead(
                level=row.level,
                code=row.code,
                name=found.name if found is not None else None,
                total=row.total,
                open=row.open,
                by_severity=row.by_severity,
            )
        )
    return out


@router.get("/summary", response_model=list[RegionRead])
def summary(
    actor: CurrentActor,
    session: DbSession,
    level: Literal["province", "city", "county"] = "county",
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> list[RegionRead]:
    """Alerts per region at a level over the last days, most first."""
    rows = guard.region_summary(session, actor=actor, level=level, since_days=days)
    return region_rows(session, rows)


@router.get("/accounts/{account_id}/timeline", response_model=list[TimelineRead])
def account_timeline(
    account_id: RowId, actor: CurrentActor, session: DbSession
) -> list[TimelineRead]:
    """An account's recent security events (codes only)."""
    return [
        TimelineRead(
            event_id=e.id, event_uid=e.uid, at=e.at, action=e.action, role=e.role, data=e.data
        )
        for e in guard.timeline(session, actor=actor, account_id=account_id)
    ]
