"""Tables of consent (授权同意): which uses of a resource need the data subject's consent, the
consent artefacts themselves, and each use made under one (the frequency counter).

Department and account ids are copied, not foreign keys (identity's and exchange's rows are
theirs). A data subject is known by the keyed lookup hash of their resident ID (identity's
keys), so a consent given at the counter by someone without an account still binds fetches.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, BigId, UTCDateTime, utcnow


class ConsentRequirement(Base):
    """A use of a resource that needs the data subject's consent: by one consumer department
    (or any when `consumer_code` is empty), for every item except the `exempt_items` (the
    cases whose law already allows the fetch)."""

    __tablename__ = "consent_requirements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    resource_code: Mapped[str] = mapped_column(String(40), index=True)
    consumer_code: Mapped[str | None] = mapped_column(String(18))
    exempt_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    basis: Mapped[str] = mapped_column(Text)
    set_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Consent(Base):
    """One consent request and, once granted, its artefact (modelled on India's Account
    Aggregator consent artefact): who asked whom, for which fields, why, for which case or
    item, from when to when, how often; signed by the node, its hash in the ledger."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    subject_hash: Mapped[str] = mapped_column(String(64))
    subject_account_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    subject_masked: Mapped[str] = mapped_column(String(24))
    requester_department_id: Mapped[int] = mapped_column(BigInteger, index=True)
    requester_code: Mapped[str] = mapped_column(String(18))
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_region: Mapped[str] = mapped_column(String(12))
    requested_by_id: Mapped[int | None] = mapped_column(BigInteger)
    provider_code: Mapped[str] = mapped_column(String(18))
    provider_name: Mapped[str] = mapped_column(String(200))
    resource_code: Mapped[str] = mapped_column(String(40))
    resource_name: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose_code: Mapped[str] = mapped_column(String(40))
    purpose_text: Mapped[str] = mapped_column(Text)
    case_number: Mapped[str | None] = mapped_column(String(40))
    item_code: Mapped[str | None] = mapped_column(String(64))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    frequency_unit: Mapped[str] = mapped_column(String(8))  # HOUR | DAY | MONTH | YEAR | INF
    frequency_value: Mapped[int] = mapped_column(Integer)
    # requested | granted | refused | revoked (expired is derived from valid_until)
    status: Mapped[str] = mapped_column(String(12), default="requested")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(BigInteger)
    # online (the subject), proxy (their agent), counter (a clerk recording a paper consent)
    decided_via: Mapped[str | None] = mapped_column(String(8))
    paper_sha256: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(BigInteger)
    # The signed artefact (canonical JSON, RFC 8785), its SHA-256 and the node's signature.
    artefact: Mapped[str | None] = mapped_column(Text)
    artefact_sha256: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(120))
    key_id: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_consents_subject", "subject_hash", "resource_code", "requester_code"),
    )


class ConsentUse(Base):
    """One fetch made under a consent: what the frequency limit counts."""

    __tablename__ = "consent_uses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    consent_id: Mapped[int] = mapped_column(BigId, ForeignKey("consents.id"))
    case_number: Mapped[str] = mapped_column(String(40))
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_consent_uses_consent", "consent_id", "used_at"),)
