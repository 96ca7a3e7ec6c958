"""Tables of the identity domain: departments, accounts, sessions, tokens, login throttles,
password resets, proxies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.platform.db import Base, BigId, UTCDateTime, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.


class Department(Base):
    """A government body, identified by its unified social credit code (GB 32100)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("departments.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Account(Base):
    """A person who logs in: citizen, clerk, official, steward or admin."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), index=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(20))
    # Resident ID. Registration only *claims* a number: it is kept masked for display and
    # encrypted (Fernet, for officials who handle this person's case), several accounts may
    # claim one, and a claim links nothing. When the identity is verified (verification.py)
    # the number is *bound*: its HMAC, `resident_id_hash`, is set (unique: one account per
    # person), and only a bound number links the cases filed for that person to the account.
    # See keys.py for the keys.
    resident_id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    resident_id_masked: Mapped[str | None] = mapped_column(String(18))
    resident_id_encrypted: Mapped[str | None] = mapped_column(Text)
    identity_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # How: counter (a clerk checked the ID card in person), realname (the province's real-name
    # service), operator (an administrator or the CLI created the account with the number).
    identity_verification: Mapped[str | None] = mapped_column(String(16))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    department_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    # Jurisdiction root for officials and stewards, service point for clerks.
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    locale: Mapped[str] = mapped_column(String(16), default="zh-CN")
    elderly_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when a clerk gave the owner a temporary password at a service point (recovery.py):
    # the next login through the web front leads to the change-password page first.
    password_must_change: Mapped[bool] = mapped_column(Boolean, default=False)

    department: Mapped[Department | None] = relationship(lazy="joined")


class LoginSession(Base):
    """A server-side login session; only the SHA-256 of its token is stored."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user_agent: Mapped[str | None] = mapped_column(String(300))
    client_ip: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """A named, long-lived bearer token for programs; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    # What the token may be used for: token scopes (policy.TokenScope), space-separated.
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginAttempt(Base):
    """One login attempt; counted per username and per client address to limit guessing."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_login_attempts_username", "username", "attempted_at"),
        Index("ix_login_attempts_client_ip", "client_ip", "attempted_at"),
    )


class LoginThrottle(Base):
    """The failure counter of one key: a username at a client address, a client address, a
    username (keyed pseudonyms, never in clear), or an account's real-name checks. Updated
    under a row lock, so parallel attempts count exactly (throttle.py)."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # The delay after the free failures runs from the last one (throttle.py).
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last good password for this username from this address: a known address.
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProxyAuthorisation(Base):
    """A citizen (principal) lets a relative or a clerk (agent) act for them (代办)."""

    __tablename__ = "proxy_authorisations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    principal_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    relation: Mapped[str] = mapped_column(String(16))
    all_items: Mapped[bool] = mapped_column(Boolean, default=False)
    # Basic item codes the agent may handle when all_items is false.
    item_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the agent accepted: a grant gives no power until the agent confirms it (a stranger
    # cannot be made someone's agent, nor an agent's account used without their knowing).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PasswordReset(Base):
    """A one-time code sent by SMS to reset a forgotten password (recovery.py): only its keyed
    hash is kept, it expires, and it allows a few checks before it is spent."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Checks of a code against it, wrong or right; none is taken after the limit.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When it stopped working, and why: used, superseded (a newer code), spent (the checks ran
    # out).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))


class SecurityBlock(Base):
    """A stop the security brain (guard) placed and the request path enforces: a client
    address (keyed pseudonym) that may not log in, an account locked pending review, or an
    API token suspended; until `until` (None: until lifted), or until an admin lifts it with a
    reason (identity/blocks.py)."""

    __tablename__ = "identity_blocks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # client_address | account | token
    kind: Mapped[str] = mapped_column(String(16))
    # The address's keyed pseudonym (throttle.pseudonym "client"), the account or token id.
    key: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (Index("ix_identity_blocks_key", "kind", "key"),)


class TokenPlace(Base):
    """An address (keyed pseudonym) an API token was used from, first seen when: the security
    brain asks whether a token turns up somewhere new (identity/token_places.py)."""

    __tablename__ = "identity_token_places"

    token_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    client_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
