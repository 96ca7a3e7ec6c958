"""The events table: one row per state change, never updated or deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, BigId, UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.


class Event(Base):
    """Who did what to which resource, when, through which channel and service point."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    on_behalf_of_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    service_point: Mapped[str | None] = mapped_column(String(12))
    # Text written by people (a refusal reason, a purpose) or a code: never in the leaf.
    reason: Mapped[str | None] = mapped_column(Text)
    # The public payload: codes, ids that reveal nothing, dates, states and counts only.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Personal data and the private part (other text written by people, who relates to whom)
    # live beside the event, never in the ledger leaf: the leaf carries only the salted
    # commitment to them (with the actor, the principal and the reason; docs/ledger.md), so
    # they can be erased without breaking the tree.
    personal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    private: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Despite the names, in format 2 the salt and the commitment cover the whole committed
    # part (events.service.committed_part), not only `personal`.
    personal_salt: Mapped[str | None] = mapped_column(String(64))
    personal_commitment: Mapped[str | None] = mapped_column(String(64))
    # The event's format (2 since the leaf carries no personal data); None: written before
    # formats were numbered (format 1, whose leaf showed everything but `personal`).
    format: Mapped[int | None] = mapped_column(SmallInteger)

    __table_args__ = (
        Index("ix_events_resource", "resource_type", "resource_id", "id"),
        Index("ix_events_actor", "actor_id", "id"),
    )
