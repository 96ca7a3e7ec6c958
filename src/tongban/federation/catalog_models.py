"""Tables of the national catalog feed: the versions the national node published (each the
signed document nodes verify), and on every other node the versions it applied (exactly once:
a version applied is never applied again, an older one never rolls the catalog back).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, UTCDateTime, utcnow


class PublishedCatalog(Base):
    """A version of the national basic catalog, as the national node signed it."""

    __tablename__ = "federation_catalog_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # SHA-256 of the items (catalog.items_digest): the document's identity besides its number.
    digest: Mapped[str] = mapped_column(String(64))
    # The catalog's fingerprint when it was published: a new version is made when it changes.
    fingerprint: Mapped[str] = mapped_column(String(64))
    item_count: Mapped[int] = mapped_column(Integer)
    # The signed document, canonical JSON, exactly as served and published.
    document: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AppliedCatalog(Base):
    """A version of the national catalog applied to this node's catalog."""

    __tablename__ = "federation_catalog_applied"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(128))
    # How it came: nats or http.
    via: Mapped[str] = mapped_column(String(8))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
