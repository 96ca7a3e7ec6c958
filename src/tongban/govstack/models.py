"""Tables of the GovStack adapter: registered client systems, the services published to
GovStack, the applicants and application files of each client, and the ids GovStack uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, BigId, UTCDateTime, utcnow


class GovstackClient(Base):
    """A calling system as the Information Mediator names it (INSTANCE/CLASS/MEMBER/SUBSYSTEM),
    registered to a department of this node: the adapter acts as its system accounts."""

    __tablename__ = "govstack_clients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client: Mapped[str] = mapped_column(String(200), unique=True)
    department_id: Mapped[int] = mapped_column(BigInteger, index=True)
    # The official account the client's operator-side calls act as (tasks: accept, decide …).
    handler_id: Mapped[int] = mapped_column(BigInteger)
    # The citizen-role account that receives the client's document uploads before they are
    # attached to an application (only clerks and citizens may upload).
    desk_id: Mapped[int] = mapped_column(BigInteger)
    # The client a call without the header is attributed to (at most one; None: refused).
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GovstackService(Base):
    """A catalog implementation published to GovStack under a GovStack service id."""

    __tablename__ = "govstack_services"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(100), unique=True)
    implementation_code: Mapped[str] = mapped_column(String(80), unique=True)
    eform_id: Mapped[str] = mapped_column(String(100), unique=True)
    # The name statistics are asked for (`registrationName`, e.g. MCTS); None: none.
    registration_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GovstackApplicant(Base):
    """The citizen account standing for one applicant id of one client (made at first use)."""

    __tablename__ = "govstack_applicants"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[int] = mapped_column(BigInteger)
    applicant_ref: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "client_id", "applicant_ref", name="uq_govstack_applicants_client_id_applicant_ref"
        ),
    )


class GovstackApplication(Base):
    """An application file: the case it filed, and what the client sent and updated."""

    __tablename__ = "govstack_applications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(String(100), unique=True)
    case_number: Mapped[str] = mapped_column(String(64), unique=True)
    service_id: Mapped[str] = mapped_column(String(100), index=True)
    client_id: Mapped[int] = mapped_column(BigInteger)
    applicant_ref: Mapped[str] = mapped_column(String(200), index=True)
    # The applicationFileSubmit as sent (and as the operator last updated it).
    submitted: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    document_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GovstackTaskId(Base):
    """A task id GovStack chose (the samples'), for one step of one case; other tasks are
    named `{case number}.{step}`."""

    __tablename__ = "govstack_task_ids"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(100), unique=True)
    case_number: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(16))

    __table_args__ = (Index("ix_govstack_task_ids_case_number", "case_number", "step"),)


class GovstackDocument(Base):
    """A document a client uploaded: its upload (by SHA-256) and the checklist line it is for."""

    __tablename__ = "govstack_documents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(40), unique=True)
    client_id: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    # additionalMetadata: the checklist line (material name) the document answers, if given.
    material: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
