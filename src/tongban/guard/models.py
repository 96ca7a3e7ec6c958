"""Tables of the security brain: the rules (data operators edit), the alerts with their
evidence and triage, the automatic responses, and the detector's cursor over the events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, BigId, UTCDateTime, utcnow


class GuardRule(Base):
    """One detection rule: its alert kind, whether it runs, the severity of its alerts, the
    window and the threshold, overrides per role and per region (prefix), and the actions."""

    __tablename__ = "guard_rules"

    kind: Mapped[str] = mapped_column(String(48), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    severity: Mapped[str] = mapped_column(String(12))
    window_seconds: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    # {"role": {"clerk": 40}, "region": {"5116": 20}}: a more specific threshold wins.
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Response codes (guard/responses.py), in order.
    actions: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(BigId)


class GuardAlert(Base):
    """An alert: what was seen, how grave, who and where, the evidence (event ids), the
    explanation, and its triage."""

    __tablename__ = "guard_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(48))
    severity: Mapped[str] = mapped_column(String(12))
    # open | acknowledged | escalated | closed
    state: Mapped[str] = mapped_column(String(16), default="open")
    # What the alert is about (an account id, an address pseudonym, a node): one open alert
    # per kind and subject at a time.
    subject: Mapped[str] = mapped_column(String(80))
    region_code: Mapped[str | None] = mapped_column(String(12))
    accounts: Mapped[list[int]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    nodes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"id": event id, "uid": event uid}, ...]: receipts at /api/v1/ledger/receipts/{uid}.
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The figures the rule saw (counts, threshold, baseline).
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    explanation_zh: Mapped[str] = mapped_column(Text)
    explanation_en: Mapped[str] = mapped_column(Text)
    first_event_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime())
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    assignee_id: Mapped[int | None] = mapped_column(BigId)
    # true_positive | false_positive once closed
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_guard_alerts_state", "state", "severity", "id"),
        Index("ix_guard_alerts_subject", "kind", "subject", "id"),
        Index("ix_guard_alerts_region", "region_code", "id"),
    )


class GuardResponse(Base):
    """An automatic response to an alert (a block, a revocation, a notice) and its reversal."""

    __tablename__ = "guard_responses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(BigId, index=True)
    action: Mapped[str] = mapped_column(String(32))
    # The identity block it placed (client address, account, token), if any.
    block_id: Mapped[int | None] = mapped_column(BigId)
    target: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(16))  # done | skipped | failed | reversed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reversed_by: Mapped[int | None] = mapped_column(BigId)


class GuardCursor(Base):
    """How far a detector has read the events (the events table is the durable queue)."""

    __tablename__ = "guard_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigId, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The detector's lag when it last read: seconds from the newest event read to reading it.
    lag_seconds: Mapped[float | None] = mapped_column(Float)
