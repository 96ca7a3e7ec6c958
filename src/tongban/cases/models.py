"""Tables of the cases domain: cases (办件), their materials, pauses, co-handling steps,
uploads (blob metadata; the bytes live in the blob store) and who uploaded them, in-app
messages, and the drafts of applications not sent yet."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.platform.db import Base, BigId, UTCDateTime, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.


class Case(Base):
    """One application (办件), or the parent of a bundle (一件事) with its sub-cases."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(8), default="single")  # single | bundle
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cases.id"), index=True)
    bundle_code: Mapped[str | None] = mapped_column(String(40))
    item_code: Mapped[str | None] = mapped_column(String(40))
    item_name: Mapped[str] = mapped_column(String(200))
    implementation_code: Mapped[str | None] = mapped_column(String(80))
    case_type: Mapped[str] = mapped_column(String(8))
    # The competent authority (收受分离: decided there, wherever it was received).
    department_id: Mapped[int | None] = mapped_column(BigInteger)
    authority_code: Mapped[str | None] = mapped_column(String(18))
    authority_name: Mapped[str] = mapped_column(String(128))
    authority_region: Mapped[str] = mapped_column(String(12))
    # The applicant (an account when known), and who filed it through which channel.
    applicant_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    applicant_name: Mapped[str] = mapped_column(String(100))
    applicant_id_masked: Mapped[str | None] = mapped_column(String(18))
    # Filed at a counter: the keyed lookup hash of the applicant's resident ID, so that the
    # case joins their account once that number is bound to one (cases/tracking.py).
    applicant_resident_id_hash: Mapped[str | None] = mapped_column(String(64))
    # Looked up through the unique (filed_by_id, idempotency_key) below: no index of its own.
    filed_by_id: Mapped[int | None] = mapped_column(BigInteger)
    filed_by_role: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    service_point: Mapped[str | None] = mapped_column(String(12))
    identity_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The official of the deciding department who works the case now (cases/assignment.py);
    # None: the department's queue as a whole.
    assignee_id: Mapped[int | None] = mapped_column(BigInteger)
    # An agent gave a payout account (收款账号) for the applicant: the case is not decided until
    # the applicant confirms it themself (a relative cannot divert an elderly person's money).
    payout_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    form_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(24))
    # Limits copied from the implementation at submission (the catalog may change later).
    acceptance_limit: Mapped[int] = mapped_column(Integer)
    promised_value: Mapped[int] = mapped_column(Integer)
    promised_unit: Mapped[str] = mapped_column(String(16))
    statutory_value: Mapped[int] = mapped_column(Integer)
    statutory_unit: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acceptance_due: Mapped[date] = mapped_column(Date)
    promised_due: Mapped[date | None] = mapped_column(Date)
    statutory_due: Mapped[date | None] = mapped_column(Date)
    # The deadline the queue sorts on: acceptance before acceptance, then the promised one;
    # NULL once decided for good. Recomputed on every transition.
    due_date: Mapped[date | None] = mapped_column(Date)
    acceptance_paused_wd: Mapped[int] = mapped_column(Integer, default=0)
    acceptance_paused_nd: Mapped[int] = mapped_column(Integer, default=0)
    handling_paused_wd: Mapped[int] = mapped_column(Integer, default=0)
    handling_paused_nd: Mapped[int] = mapped_column(Integer, default=0)
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_text: Mapped[str | None] = mapped_column(Text)
    result_document: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_digest: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    materials: Mapped[list[CaseMaterial]] = relationship(
        order_by="CaseMaterial.id", cascade="all, delete-orphan"
    )
    steps: Mapped[list[CaseStep]] = relationship(
        order_by="CaseStep.position", cascade="all, delete-orphan"
    )
    pauses: Mapped[list[CasePause]] = relationship(
        order_by="CasePause.id", cascade="all, delete-orphan"
    )
    supplement_items: Mapped[list[CaseSupplementItem]] = relationship(
        order_by="CaseSupplementItem.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    __table_args__ = (
        UniqueConstraint("filed_by_id", "idempotency_key"),
        # The official's queue: one department, nearest deadline first.
        Index("ix_cases_queue", "department_id", "due_date", "id"),
        Index("ix_cases_region", "authority_region", "state"),
        Index("ix_cases_applicant_resident", "applicant_resident_id_hash"),
        # "Assigned to me": one official's cases, nearest deadline first.
        Index("ix_cases_assignee", "assignee_id", "due_date"),
    )


class CaseMaterial(Base):
    """A file attached to a case, against one material of the implementation's checklist."""

    __tablename__ = "case_materials"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int | None] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer, default=0)  # 0 at submission, n-th 补正
    added_by_id: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CasePause(Base):
    """One stop of the clock (补正 or 特别程序)."""

    __tablename__ = "case_pauses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # supplement | special
    resume_state: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    expected_end: Mapped[date | None] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    working_days: Mapped[int | None] = mapped_column(Integer)
    natural_days: Mapped[int | None] = mapped_column(Integer)


class CaseSupplementItem(Base):
    """One line of a 补正 request (一次性告知): what the applicant is asked to supply, why, and
    how it was answered (files, or an explanation the official accepts)."""

    __tablename__ = "case_supplement_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    request_no: Mapped[int] = mapped_column(Integer)  # the case's n-th 补正 request
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(12))  # checklist | extra
    note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12))  # requested | answered | accepted
    # The digests of the files answering it (attached as case materials under `name`).
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    explanation: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(BigInteger)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CaseStep(Base):
    """A co-handling authority's part of a joint case (联办), done before the decision."""

    __tablename__ = "case_steps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    authority_code: Mapped[str] = mapped_column(String(18))
    authority_name: Mapped[str] = mapped_column(String(128))
    region_code: Mapped[str] = mapped_column(String(12))
    department_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)


class Upload(Base):
    """Metadata of an uploaded file; its bytes sit in the blob store under their SHA-256."""

    __tablename__ = "case_uploads"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int | None] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UploadOwner(Base):
    """Someone else who uploaded the same bytes as an upload's first uploader.

    The blob store keeps a file once by its SHA-256, but ownership is per uploader: whoever
    uploaded the bytes (`Upload.uploaded_by_id` for the first, a row here for each later one)
    may attach them, and nobody else.
    """

    __tablename__ = "case_upload_owners"

    sha256: Mapped[str] = mapped_column(
        ForeignKey("case_uploads.sha256", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseDraft(Base):
    """An application not sent yet (save and resume), kept for its account on the server.

    Nothing of a form stays in the browser; a draft is read only by its account, a few per
    account, and forgotten after 30 days (cases/drafts.py).
    """

    __tablename__ = "case_drafts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(BigInteger)
    implementation_code: Mapped[str] = mapped_column(String(80))
    # The details as typed (to show again) and as the service takes them.
    form_values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    typed_values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Whom the application is for (an authorisation's principal), None for oneself.
    on_behalf_of_id: Mapped[int | None] = mapped_column(BigInteger)
    # [[material name, sha256], ...]: the caller's own uploads.
    materials: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # One draft per account and implementation; its leading column finds an account's drafts.
    __table_args__ = (UniqueConstraint("account_id", "implementation_code"),)


class Message(Base):
    """An in-app message to one account (the applicant, or whoever filed for them)."""

    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(BigInteger)
    case_number: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_case_messages_account", "account_id", "id"),)


class HelpRequest(Base):
    """A citizen asks a service point to call back and do it for them (请工作人员帮我办).

    The name and phone number are what the clerk needs to call; they stay here and in the
    event's personal part, never in a ledger leaf."""

    __tablename__ = "help_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The service point (a clerk's region code) whose queue it is in, and where the person is.
    service_point: Mapped[str] = mapped_column(String(12), index=True)
    region_code: Mapped[str] = mapped_column(String(12))
    account_id: Mapped[int | None] = mapped_column(BigId)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    topic: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="open")
    handled_by_id: Mapped[int | None] = mapped_column(BigId)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
