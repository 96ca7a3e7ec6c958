"""The table of requests a filing node sent to a case's authority node (issue #18): the
applicant's side withdrawing (or supplying papers for) a case it keeps a tracking copy of.

A request is pending until the authority's node answers it (applied, or refused with a code);
the case page of the copy shows it meanwhile. The authority's node needs no table of its own:
its inbox applies each request once, by message id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, UTCDateTime, utcnow


class Request(Base):
    """One action of the applicant's side sent to the authority's node, and its answer."""

    __tablename__ = "federation_requests"

    # `<case number>:r<n>`: also the message id, so the authority applies it once.
    message_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    case_number: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(24))  # withdraw | supplement
    peer_node: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(12))  # pending | applied | refused
    # Refused: a code (not_allowed:<state there>, forbidden, invalid, unknown_case); applied:
    # the case's state there after it.
    answer: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_federation_requests_case", "case_number", "created_at"),)
