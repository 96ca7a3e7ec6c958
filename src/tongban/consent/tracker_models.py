"""The data tracker's tables: one line per use of a person's data, and the objections to them.

A line (`data_uses`) is written in the same transaction as the event it shows (the events
hook, consent/tracker.py), so the tracker and the ledger are built from the same events; it
keeps what the citizen's page shows without a join (department, official, case, fields).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, BigId, UTCDateTime


class DataUse(Base):
    """One use of one person's data (我的数据使用记录): who, when, for which case and why."""

    __tablename__ = "data_uses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The event this line shows (its ledger leaf is the line's receipt).
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    event_uid: Mapped[str] = mapped_column(String(36))
    # The data subject: the account whose data was used.
    subject_id: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    department_code: Mapped[str | None] = mapped_column(String(32))
    department_name: Mapped[str | None] = mapped_column(String(200))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    # The official's name as the subject may see it: masked (王**).
    actor_name_masked: Mapped[str | None] = mapped_column(String(40))
    case_number: Mapped[str | None] = mapped_column(String(40))
    item_code: Mapped[str | None] = mapped_column(String(40))
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The fields' labels as the providing department names them (姓名, 累计缴费月数).
    field_labels: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Written by the official (the purpose of a fetch or a look): the subject's to read only.
    purpose: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(24))

    __table_args__ = (
        Index("ix_data_uses_subject_time", "subject_id", "occurred_at", "id"),
        Index(
            "ix_data_uses_subject_department", "subject_id", "department_code", "occurred_at", "id"
        ),
    )


class Objection(Base):
    """A citizen's objection (异议) to one use of their data, and the steward's answer."""

    __tablename__ = "data_use_objections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    data_use_id: Mapped[int] = mapped_column(ForeignKey("data_uses.id"))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    filed_by_id: Mapped[int] = mapped_column(BigInteger)
    department_code: Mapped[str | None] = mapped_column(String(32))
    department_id: Mapped[int | None] = mapped_column(BigInteger)
    region_code: Mapped[str | None] = mapped_column(String(12))
    # The citizen's words: private, never in the public ledger.
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_date: Mapped[date] = mapped_column(Date)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_data_use_objections_use", "data_use_id"),
        Index("ix_data_use_objections_department", "department_id", "answered_at", "due_date"),
        Index("ix_data_use_objections_due", "answered_at", "due_date"),
    )
