"""Tables of the credentials domain (电子证照): issuer keys, e-licences, status lists, shares.

Department ids are copied, not foreign keys: departments are identity's (no join across
domains). Private issuer keys are stored sealed (Fernet, with the node key file
keys/credentials-fernet.key, mode 0600, as identity seals resident IDs): a copy of the
database alone cannot sign a licence.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
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


class IssuerKey(Base):
    """A department's Ed25519 signing key: active (signs), rotated (verifies what it signed)
    or retired (verifies only what it signed before `retired_at`)."""

    __tablename__ = "credential_issuer_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    department_id: Mapped[int] = mapped_column(BigInteger, index=True)
    department_code: Mapped[str] = mapped_column(String(18))
    department_name: Mapped[str] = mapped_column(String(200))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    thumbprint: Mapped[str] = mapped_column(String(64))
    private_sealed: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="active")  # active|rotated|retired
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StatusListRow(Base):
    """One Token Status List of a department: its fixed size and the next free index."""

    __tablename__ = "credential_status_lists"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    department_id: Mapped[int] = mapped_column(BigInteger, index=True)
    department_code: Mapped[str] = mapped_column(String(18))
    size: Mapped[int] = mapped_column(Integer)
    next_index: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped on every status change: the signed token is cached by (list, version).
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Credential(Base):
    """One issued e-licence: its 证照标识, type, holder, issuer, status entry and the SD-JWT VC
    with all its disclosures (what the holder downloads)."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    licence_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    type_code: Mapped[str] = mapped_column(String(40))
    vct: Mapped[str] = mapped_column(String(200))
    item_code: Mapped[str | None] = mapped_column(String(40))
    case_number: Mapped[str | None] = mapped_column(String(40), index=True)
    holder_id: Mapped[int] = mapped_column(BigInteger, index=True)
    department_id: Mapped[int] = mapped_column(BigInteger)
    department_code: Mapped[str] = mapped_column(String(18))
    department_name: Mapped[str] = mapped_column(String(200))
    kid: Mapped[str] = mapped_column(String(64))
    list_id: Mapped[int] = mapped_column(BigId, ForeignKey("credential_status_lists.id"))
    list_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="valid")  # valid|suspended|revoked
    sd_jwt: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)  # None: 长期有效
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("list_id", "list_index", name="uq_credentials_list_id"),
        Index("ix_credentials_list_status", "list_id", "status"),
    )


class CredentialUse(Base):
    """免证办: an e-licence presented for a case instead of a paper, with what verified."""

    __tablename__ = "credential_uses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_number: Mapped[str] = mapped_column(String(40), index=True)
    material: Mapped[str] = mapped_column(String(200))
    licence_id: Mapped[str] = mapped_column(String(120))
    type_code: Mapped[str] = mapped_column(String(40))
    type_name: Mapped[str] = mapped_column(String(100))
    issuer_code: Mapped[str] = mapped_column(String(18))
    issuer_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))
    claims: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Share(Base):
    """A short link a QR code carries: one presentation, for a while."""

    __tablename__ = "credential_shares"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder_id: Mapped[int] = mapped_column(BigInteger, index=True)
    credential_id: Mapped[int] = mapped_column(BigId, ForeignKey("credentials.id"))
    presentation: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
