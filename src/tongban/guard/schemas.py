"""The guard's API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from tongban.platform.db import MAX_ROW_ID

Severity = Literal["low", "medium", "high", "critical"]
State = Literal["open", "acknowledged", "escalated", "closed"]


class EvidenceRead(BaseModel):
    """One event that backs an alert, with where its ledger receipt is."""

    event_id: int
    event_uid: str
    receipt: str


class ResponseRead(BaseModel):
    """An automatic response to an alert."""

    id: int
    action: str
    target: str | None
    block_id: int | None
    outcome: str
    created_at: datetime
    reversed_at: datetime | None


class AlertRead(BaseModel):
    """An alert: kind, severity, state, who and where, evidence, explanation, triage."""

    id: int
    kind: str
    severity: str
    state: str
    subject: str
    region_code: str | None
    accounts: list[int]
    regions: list[str]
    nodes: list[str]
    evidence: list[EvidenceRead]
    facts: dict[str, Any]
    explanation_zh: str
    explanation_en: str
    first_event_at: datetime
    last_event_at: datetime
    raised_at: datetime
    assignee_id: int | None
    outcome: str | None
    note: str | None
    responses: list[ResponseRead]


class TriageIn(BaseModel):
    """A triage step: a note (required to close), the outcome when closing, the assignee."""

    note: str | None = Field(default=None, max_length=2000)
    outcome: Literal["true_positive", "false_positive"] | None = None
    assignee_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)


class ReverseIn(BaseModel):
    """Why an automatic response is taken back."""

    reason: str = Field(min_length=1, max_length=500)


class RuleRead(BaseModel):
    """A detection rule as stored."""

    kind: str
    enabled: bool
    severity: str
    window_seconds: int
    threshold: int
    overrides: dict[str, Any]
    actions: list[str]
    updated_at: datetime


class RuleIn(BaseModel):
    """A rule's new settings."""

    enabled: bool = True
    severity: Severity
    threshold: int = Field(ge=1, le=1_000_000)
    window_seconds: int = Field(ge=60, le=7 * 86400)
    actions: list[str] = Field(default_factory=list, max_length=6)
    overrides: dict[str, Any] | None = None


class RegionRead(BaseModel):
    """Alerts of one region at one level."""

    level: str
    code: str
    name: str | None
    total: int
    open: int
    by_severity: dict[str, int]


class TimelineRead(BaseModel):
    """One security event of an account."""

    event_id: int
    event_uid: str
    at: datetime
    action: str
    role: str | None
    data: dict[str, Any]
