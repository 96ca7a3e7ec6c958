"""The console's side of the guard: the alerts (list, read, triage), the reversal of
automatic responses, the rules operators edit, the summary per region and level, and an
account's security timeline."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.guard import responses
from tongban.guard import rules as R
from tongban.guard.models import GuardAlert, GuardCursor, GuardResponse, GuardRule
from tongban.identity import service as identity
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

STATES = ("open", "acknowledged", "escalated", "closed")
OUTCOMES = ("true_positive", "false_positive")
TRIAGE = ("acknowledge", "assign", "escalate", "close")
# The detector's cursor row (runner.py moves it).
CURSOR = "detector"


def as_utc(value: datetime) -> datetime:
    """The moment as an aware UTC datetime (SQLite hands back naive ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def authorize_read(actor: identity.Actor) -> None:
    """Forbidden unless the actor may read the security console."""
    identity.authorize(actor, "guard.read")


def authorize_triage(actor: identity.Actor) -> None:
    """Forbidden unless the actor may triage alerts and reverse responses."""
    identity.authorize(actor, "guard.triage")


def authorize_configure(actor: identity.Actor) -> None:
    """Forbidden unless the actor may edit the rules."""
    identity.authorize(actor, "guard.configure")


# --- views ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResponseView:
    """An automatic response to an alert."""

    id: int
    action: str
    target: str | None
    block_id: int | None
    outcome: str
    created_at: datetime
    reversed_at: datetime | None

    @classmethod
    def of(cls, row: GuardResponse) -> ResponseView:
        """The view of a row."""
        return cls(
            row.id,
            row.action,
            row.target,
            row.block_id,
            row.outcome,
            row.created_at,
            row.reversed_at,
        )


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert with its evidence, explanation, triage and responses."""

    id: int
    kind: str
    severity: str
    state: str
    subject: str
    region_code: str | None
    accounts: list[int]
    regions: list[str]
    nodes: list[str]
    evidence: list[dict[str, Any]]
    facts: dict[str, Any]
    explanation_zh: str
    explanation_en: str
    first_event_at: datetime
    last_event_at: datetime
    raised_at: datetime
    assignee_id: int | None
    outcome: str | None
    note: str | None
    responses: list[ResponseView] = field(default_factory=list)

    @classmethod
    def of(cls, row: GuardAlert, responses: list[ResponseView] | None = None) -> AlertView:
        """The view of a row."""
        return cls(
            id=row.id,
            kind=row.kind,
            severity=row.severity,
            state=row.state,
            subject=row.subject,
            region_code=row.region_code,
            accounts=list(row.accounts or []),
            regions=list(row.regions or []),
            nodes=list(row.nodes or []),
            evidence=list(row.evidence or []),
            facts=dict(row.facts or {}),
            explanation_zh=row.explanation_zh,
            explanation_en=row.explanation_en,
            first_event_at=row.first_event_at,
            last_event_at=row.last_event_at,
            raised_at=row.raised_at,
            assignee_id=row.assignee_id,
            outcome=row.outcome,
            note=row.note,
            responses=responses or [],
        )


@dataclass(frozen=True, slots=True)
class RuleView:
    """A rule as stored (the operators' copy)."""

    kind: str
    enabled: bool
    severity: str
    window_seconds: int
    threshold: int
    overrides: dict[str, Any]
    actions: list[str]
    updated_at: datetime

    def spec(self) -> R.RuleSpec:
        """The detector's form."""
        return R.RuleSpec(
            kind=self.kind,
            severity=self.severity,
            window_seconds=self.window_seconds,
            threshold=self.threshold,
            actions=tuple(self.actions),
            overrides=dict(self.overrides),
            enabled=self.enabled,
        )


# --- rules ------------------------------------------------------------------------------------


def _ensure_rules(session: Session) -> None:
    have = set(session.scalars(select(GuardRule.kind)))
    for spec in R.DEFAULT_RULES:
        if spec.kind not in have:
            session.add(
                GuardRule(
                    kind=spec.kind,
                    enabled=spec.enabled,
                    severity=spec.severity,
                    window_seconds=spec.window_seconds,
                    threshold=spec.threshold,
                    overrides=dict(spec.overrides),
                    actions=list(spec.actions),
                    updated_at=utcnow(),
                )
            )
    session.flush()


def list_rules(session: Session) -> list[RuleView]:
    """The rules in force (the defaults stored on first use)."""
    _ensure_rules(session)
    order = {kind: i for i, kind in enumerate(R.KINDS)}
    rows = sorted(session.scalars(select(GuardRule)), key=lambda r: order.get(r.kind, 99))
    return [
        RuleView(
            r.kind,
            bool(r.enabled),
            r.severity,
            r.window_seconds,
            r.threshold,
            dict(r.overrides or {}),
            list(r.actions or []),
            r.updated_at,
        )
        for r in rows
    ]


def update_rule(
    session: Session,
    *,
    kind: str,
    actor: identity.Actor,
    enabled: bool,
    severity: str,
    threshold: int,
    window_seconds: int,
    actions: list[str],
    overrides: dict[str, Any] | None = None,
) -> RuleView:
    """An operator changes a rule (`guard.rule_changed`); the running detector picks it up."""
    identity.authorize(actor, "guard.configure")
    _ensure_rules(session)
    row = session.get(GuardRule, kind)
    if row is None:
        raise NotFound("No such rule.")
    if severity not in R.SEVERITIES:
        raise Invalid("Unknown severity.")
    if not 1 <= threshold <= 1_000_000 or not 60 <= window_seconds <= 7 * 86400:
        raise Invalid("The threshold or the window is out of range.")
    unknown = [a for a in actions if a not in R.ACTIONS]
    if unknown:
        raise Invalid(f"Unknown actions: {', '.join(unknown)}.")
    night = (overrides or {}).get("night")
    if night is not None and not (
        isinstance(night, list)
        and len(night) == 2
        and all(isinstance(h, int) and 0 <= h <= 24 for h in night)
    ):
        raise Invalid("The night is two hours from 0 to 24, e.g. [0, 6].")
    row.enabled = enabled
    row.severity = severity
    row.threshold = threshold
    row.window_seconds = window_seconds
    row.actions = list(dict.fromkeys(actions))
    if overrides is not None:
        row.overrides = overrides
    row.updated_at = utcnow()
    row.updated_by = actor.account_id
    session.flush()
    events.record(
        session,
        action="guard.rule_changed",
        resource_type="guard_rule",
        resource_id=kind,
        channel="online",
        actor_id=actor.account_id,
        actor_role=actor.role,
        data={
            "enabled": enabled,
            "severity": severity,
            "threshold": threshold,
            "window_seconds": window_seconds,
            "actions": row.actions,
        },
    )
    return next(r for r in list_rules(session) if r.kind == kind)


# --- the console ------------------------------------------------------------------------------


def _responses_of(session: Session, alert_ids: list[int]) -> dict[int, list[ResponseView]]:
    found: dict[int, list[ResponseView]] = {i: [] for i in alert_ids}
    if not alert_ids:
        return found
    for row in session.scalars(
        select(GuardResponse)
        .where(GuardResponse.alert_id.in_(alert_ids))
        .order_by(GuardResponse.id)
    ):
        found[row.alert_id].append(ResponseView.of(row))
    return found


def list_alerts(
    session: Session,
    *,
    actor: identity.Actor,
    kind: str | None = None,
    severity: str | None = None,
    state: str | None = None,
    region: str | None = None,
    account_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AlertView]:
    """Alerts, gravest and newest first, filtered by kind, severity, state and region prefix."""
    identity.authorize(actor, "guard.read")
    stmt = select(GuardAlert)
    if kind:
        stmt = stmt.where(GuardAlert.kind == kind)
    if severity:
        stmt = stmt.where(GuardAlert.severity == severity)
    if state:
        stmt = stmt.where(GuardAlert.state == state)
    if region:
        stmt = stmt.where(GuardAlert.region_code.like(f"{region.rstrip('0') or region}%"))
    if account_id is not None:
        stmt = stmt.where(GuardAlert.subject == f"account:{account_id}")
    rows = list(session.scalars(stmt.order_by(GuardAlert.id.desc()).offset(offset).limit(limit)))
    attached = _responses_of(session, [r.id for r in rows])
    return [AlertView.of(r, attached[r.id]) for r in rows]


def get_alert(session: Session, *, actor: identity.Actor, alert_id: int) -> AlertView:
    """One alert with its responses (NotFound when absent)."""
    identity.authorize(actor, "guard.read")
    row = session.get(GuardAlert, alert_id)
    if row is None:
        raise NotFound("No such alert.")
    return AlertView.of(row, _responses_of(session, [row.id])[row.id])


_NEXT_STATE = {"acknowledge": "acknowledged", "escalate": "escalated", "close": "closed"}


def triage(
    session: Session,
    *,
    actor: identity.Actor,
    alert_id: int,
    action: str,
    note: str | None = None,
    outcome: str | None = None,
    assignee_id: int | None = None,
) -> AlertView:
    """Acknowledge, assign, escalate or close (as a true or false positive, with a note)
    an alert (`guard.alert_<action>`)."""
    identity.authorize(actor, "guard.triage")
    row = session.get(GuardAlert, alert_id)
    if row is None:
        raise NotFound("No such alert.")
    if action not in TRIAGE:
        raise Invalid(f"Unknown triage action {action!r}.")
    if row.state == "closed":
        raise Conflict("This alert is closed.")
    text = (note or "").strip()[:2000] or None
    data: dict[str, Any] = {"alert_id": row.id, "from": row.state}
    if action == "close":
        if outcome not in OUTCOMES:
            raise Invalid("Close an alert as a true or a false positive.")
        if not text:
            raise Invalid("Write a note when closing an alert.")
        row.outcome = outcome
        data["outcome"] = outcome
    if action == "assign":
        if assignee_id is None:
            raise Invalid("Choose whom to assign the alert to.")
        assignee = identity.get_account(session, account_id=assignee_id)
        if assignee.role != identity.Role.ADMIN.value:
            raise Invalid("Alerts are assigned to operators (admin accounts).")
        row.assignee_id = assignee_id
        data["assignee"] = assignee_id
    else:
        row.state = _NEXT_STATE[action]
        if action == "acknowledge" and row.assignee_id is None:
            row.assignee_id = actor.account_id
    if text:
        row.note = text if not row.note else f"{row.note}\n{text}"[-4000:]
    row.updated_at = utcnow()
    session.flush()
    data["to"] = row.state
    events.record(
        session,
        action=f"guard.alert_{action}",
        resource_type="guard_alert",
        resource_id=str(row.id),
        channel="online",
        actor_id=actor.account_id,
        actor_role=actor.role,
        reason=text,
        data=data,
    )
    return AlertView.of(row, _responses_of(session, [row.id])[row.id])


def reverse_response(
    session: Session, *, actor: identity.Actor, response_id: int, reason: str
) -> AlertView:
    """An admin reverses an automatic block with a reason; the alert it answered."""
    identity.authorize(actor, "guard.triage")
    row = responses.reverse(session, response_id=response_id, actor=actor, reason=reason)
    return get_alert(session, actor=actor, alert_id=row.alert_id)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One security-relevant event of an account (codes only)."""

    id: int
    uid: str
    at: datetime
    action: str
    role: str | None
    data: dict[str, Any]


_SECURITY_PREFIXES = ("auth.", "token.", "security.", "guard.", "account.", "exchange.fetch")
_SECURITY_ACTIONS = ("case.applicant_id_viewed", "case.material_viewed")


def timeline(
    session: Session, *, actor: identity.Actor, account_id: int, limit: int = 100
) -> list[TimelineEntry]:
    """An account's recent security events (as actor, or the account they are about, and the
    evidence of the alerts about it)."""
    identity.authorize(actor, "guard.read")
    identity.get_account(session, account_id=account_id)  # NotFound for an unknown account
    c = events.events_table().c
    wanted = or_(
        *[c.action.startswith(prefix) for prefix in _SECURITY_PREFIXES],
        c.action.in_(_SECURITY_ACTIONS),
    )
    # Refused logins name the account only in their personal part: the alerts about the
    # account bring them in as their evidence.
    evidence = {
        int(e["id"])
        for row in session.scalars(
            select(GuardAlert.evidence)
            .where(GuardAlert.subject == f"account:{account_id}")
            .order_by(GuardAlert.id.desc())
            .limit(20)
        )
        for e in row or []
    }
    rows = session.execute(
        select(c.id, c.uid, c.occurred_at, c.action, c.actor_role, c.data)
        .where(
            or_(
                wanted
                & or_(
                    c.actor_id == account_id,
                    (c.resource_type == "account") & (c.resource_id == str(account_id)),
                ),
                c.id.in_(evidence),
            ),
        )
        .order_by(c.id.desc())
        .limit(limit)
    )
    return [
        TimelineEntry(r.id, r.uid, as_utc(r.occurred_at), r.action, r.actor_role, r.data or {})
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class RegionRow:
    """Alerts of one region at one level: counts by severity and those still open."""

    level: str
    code: str
    total: int
    open: int
    by_severity: dict[str, int]


def _level_code(code: str, level: str) -> str:
    six = (code + "000000")[:6]
    if level == "province":
        return six[:2] + "0000"
    if level == "city":
        return six[:4] + "00"
    return six


def region_summary(
    session: Session, *, actor: identity.Actor, level: str = "county", since_days: int = 30
) -> list[RegionRow]:
    """Alerts per region at a level (province, city, county) over the last days, most first,
    so that weak places stand out."""
    identity.authorize(actor, "guard.read")
    if level not in ("province", "city", "county"):
        raise Invalid("The level is province, city or county.")
    since = utcnow() - timedelta(days=since_days)
    rows = session.execute(
        select(GuardAlert.region_code, GuardAlert.severity, GuardAlert.state, func.count())
        .where(GuardAlert.raised_at >= since, GuardAlert.region_code.is_not(None))
        .group_by(GuardAlert.region_code, GuardAlert.severity, GuardAlert.state)
    )
    totals: dict[str, Counter[str]] = {}
    opened: Counter[str] = Counter()
    for region, severity, state, count in rows:
        code = _level_code(str(region), level)
        totals.setdefault(code, Counter())[severity] += int(count)
        if state != "closed":
            opened[code] += int(count)
    result = [
        RegionRow(level, code, sum(c.values()), opened[code], dict(c)) for code, c in totals.items()
    ]
    return sorted(result, key=lambda r: (-r.total, r.code))


def counts(session: Session) -> dict[tuple[str, str, str], int]:
    """Alerts by kind, severity and state (for the metrics)."""
    rows = session.execute(
        select(GuardAlert.kind, GuardAlert.severity, GuardAlert.state, func.count()).group_by(
            GuardAlert.kind, GuardAlert.severity, GuardAlert.state
        )
    )
    return {(k, s, st): int(n) for k, s, st, n in rows}


def cursor_state(session: Session) -> tuple[int, int, float | None]:
    """The detector's cursor, the newest event id and the last lag (seconds)."""
    row = session.get(GuardCursor, CURSOR)
    newest = session.scalar(select(func.max(events.events_table().c.id))) or 0
    if row is None:
        return 0, int(newest), None
    return row.last_event_id, int(newest), row.lag_seconds
