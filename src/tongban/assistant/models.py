"""Tables of the assistant: what operators added to the lexicon (synonyms, FAQ entries) and
the questions that found nothing (anonymised before they are stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, BigId, UTCDateTime, utcnow


class Synonym(Base):
    """An operator's synonym: a word people say -> the catalog's word (退休金 -> 养老金)."""

    __tablename__ = "assistant_synonyms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    word: Mapped[str] = mapped_column(String(40), unique=True)
    canonical: Mapped[str] = mapped_column(String(80))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FaqEntry(Base):
    """An operator's FAQ entry: a question and the items or bundle families it points to,
    with an optional short answer written by the operator (shown as theirs)."""

    __tablename__ = "assistant_faq"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    question: Mapped[str] = mapped_column(String(200))
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Unanswered(Base):
    """A question that found nothing, anonymised (no resident IDs, phones or names), counted
    when asked again; closed when an operator has dealt with it."""

    __tablename__ = "assistant_unanswered"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(String(200), unique=True)
    region_code: Mapped[str | None] = mapped_column(String(12))
    count: Mapped[int] = mapped_column(Integer, default=1)
    closed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
