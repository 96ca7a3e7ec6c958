"""Tables of the federation domain: the outbox of signed messages to other nodes, the inbox
of messages applied here (exactly once, by message id), and which cases this node follows for
another node or handles for one.

The outbox is written in the transaction of the case change it reports, and published after
commit by the worker: a change is never sent before it is stored, and never lost after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, BigId, UTCDateTime, utcnow


class Outgoing(Base):
    """A message to another node, published (at least once) after the change commits."""

    __tablename__ = "federation_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # `<case number>:transfer` or `<case number>:v<version>`: the receiver applies it once.
    message_id: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(24))  # case.transfer | case.state
    target_node: Mapped[str] = mapped_column(String(128))
    case_number: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set once JetStream acknowledged the message (stored in the stream).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_federation_outbox_pending", "sent_at", "id"),)


class Incoming(Base):
    """A message applied here (or refused): a second delivery of the same id changes nothing."""

    __tablename__ = "federation_inbox"

    message_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    sender_node: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(24))
    case_number: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(24))  # applied | refused:<reason>
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Link(Base):
    """A case shared with another node: `copy` (filed here, handled there: this node follows
    it) or `authority` (filed there, handled here: this node reports every change back)."""

    __tablename__ = "federation_links"

    case_number: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(12))  # copy | authority
    peer_node: Mapped[str] = mapped_column(String(128))
    # The last version of the case on the authority's node applied to the copy.
    remote_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
