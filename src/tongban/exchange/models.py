"""Tables of the exchange domain (共享交换): the resource catalogue, sharing requests and
agreements, the fetch log, the local providers' records, the node directory and the message log.

Department ids are copied, not foreign keys: departments are identity's (no join across
domains), and a remote consumer's department lives on another node.
"""

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
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, BigId, UTCDateTime, utcnow


class DataResource(Base):
    """One resource of the catalogue (政务数据资源目录): what a provider offers, on what terms.

    `fields` is a list of {"name": code, "label": Chinese label, "type": string|date|number|
    boolean, "personal": bool}; field names are ASCII codes, so that events can name them.
    """

    __tablename__ = "exchange_resources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    provider_department_id: Mapped[int] = mapped_column(BigInteger, index=True)
    provider_code: Mapped[str] = mapped_column(String(18))
    provider_name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(12))
    sharing: Mapped[str] = mapped_column(String(16))  # unconditional | conditional | none
    conditions: Mapped[str | None] = mapped_column(Text)  # conditions, or the legal basis
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    update_frequency: Mapped[str] = mapped_column(String(16))
    # "local" (a table of this node) or the node id of a remote provider (node directory).
    endpoint: Mapped[str] = mapped_column(String(200), default="local")
    # The catalog material names this resource stands in for ("参保缴费凭证"): the checklist
    # line it replaces.
    materials: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SharingRequest(Base):
    """A consumer department's request for a resource (供需对接), and the provider's answer."""

    __tablename__ = "exchange_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resource_id: Mapped[int] = mapped_column(BigId, ForeignKey("exchange_resources.id"))
    consumer_department_id: Mapped[int] = mapped_column(BigInteger, index=True)
    consumer_code: Mapped[str] = mapped_column(String(18))
    consumer_region: Mapped[str] = mapped_column(String(12))
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    item_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    duration_days: Mapped[int] = mapped_column(Integer)
    requested_by_id: Mapped[int | None] = mapped_column(BigInteger)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # approved | refused
    decided_by_id: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_exchange_requests_status", "status", "due_date"),)


class Agreement(Base):
    """A sharing agreement: the Cedar policy an approval compiled, its hash, its validity."""

    __tablename__ = "exchange_agreements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("exchange_requests.id"), unique=True
    )
    resource_id: Mapped[int] = mapped_column(BigId, ForeignKey("exchange_resources.id"))
    consumer_department_id: Mapped[int] = mapped_column(BigInteger)
    consumer_code: Mapped[str] = mapped_column(String(18))
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    item_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    policy: Mapped[str] = mapped_column(Text)
    policy_sha256: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(BigInteger)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_exchange_agreements_pair", "consumer_department_id", "resource_id"),
    )


class DataFetch(Base):
    """One successful fetch for a case: what came, from where, when (refusals are events)."""

    __tablename__ = "exchange_fetches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_number: Mapped[str] = mapped_column(String(40), index=True)
    resource_code: Mapped[str] = mapped_column(String(40))
    resource_name: Mapped[str] = mapped_column(String(200))
    provider_name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text)
    agreement_id: Mapped[int | None] = mapped_column(BigInteger)
    # The values the provider returned, kept with the case like an upload would be.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    found: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(40))  # "local" or the provider's node id
    message_id: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProviderRecord(Base):
    """A local provider's record about one person, keyed by the keyed lookup hash of the
    resident ID (identity's keys): the number itself is not stored here."""

    __tablename__ = "exchange_provider_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resource_code: Mapped[str] = mapped_column(String(40))
    subject_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("resource_code", "subject_hash"),)


class Node(Base):
    """A node of the directory the national node publishes: its id, region, address, keys."""

    __tablename__ = "exchange_nodes"

    node_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str] = mapped_column(String(300))
    # {key id: base64 raw Ed25519 public key}
    public_keys: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Message(Base):
    """The message log: one signed request or response, by its hashes (never its body).

    The unique (client, message id) pair is the replay guard on the provider side.
    """

    __tablename__ = "exchange_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(8))  # in | out
    client: Mapped[str] = mapped_column(String(120))
    service: Mapped[str] = mapped_column(String(120))
    message_id: Mapped[str] = mapped_column(String(64))
    issue: Mapped[str | None] = mapped_column(String(40))
    request_sha256: Mapped[str] = mapped_column(String(64))
    response_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("direction", "client", "message_id"),)


class PendingFetch(Base):
    """A fetch queued at acceptance and run after the acceptance has committed (an outbox).

    `state`: pending (due at `next_attempt_at`), running (claimed by a worker until
    `lease_until`), done (`fetch_id` is the fetch) or failed (`problem` says why: a refusal code
    or provider-unavailable after the last retry). The official's fetch button retries it.
    """

    __tablename__ = "exchange_pending_fetches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_number: Mapped[str] = mapped_column(String(40))
    resource_code: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int] = mapped_column(BigInteger)  # the official who accepted the case
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    problem: Mapped[str | None] = mapped_column(String(40))
    fetch_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("case_number", "resource_code"),
        Index("ix_exchange_pending_fetches_due", "state", "next_attempt_at"),
    )
