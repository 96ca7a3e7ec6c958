"""Tables of the catalog domain: basic items, implementations, materials, fees, bundles."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.platform.db import Base, BigId, UTCDateTime, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.


class ItemType(StrEnum):
    """The twelve item types (事项类型)."""

    LICENSING = "行政许可"
    PENALTY = "行政处罚"
    COERCION = "行政强制"
    LEVY = "行政征收"
    BENEFIT = "行政给付"
    INSPECTION = "行政检查"
    CONFIRMATION = "行政确认"
    REWARD = "行政奖励"
    ADJUDICATION = "行政裁决"
    OTHER_POWER = "其他行政权力"
    PUBLIC_SERVICE = "公共服务"
    FILING = "行政备案"


class TongbanRange(StrEnum):
    """Where an implementation can be handled (通办范围)."""

    NATIONAL = "全国"
    CROSS_PROVINCE = "跨省"
    PROVINCE = "全省"
    CITY = "全市"
    COUNTY = "全县"
    FIXED = "定点办理"


class LimitUnit(StrEnum):
    """Unit of a time limit."""

    WORKING_DAYS = "working_days"
    NATURAL_DAYS = "natural_days"


class MaterialRequired(StrEnum):
    """Whether a material must be given."""

    YES = "yes"
    NO = "no"
    CONDITIONAL = "conditional"


class MaterialSource(StrEnum):
    """Who provides a material: the applicant, or government (obtainable by sharing)."""

    APPLICANT = "applicant"
    GOVERNMENT = "government"


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class BasicItem(Base):
    """A basic item (基本目录): the six elements identical everywhere."""

    __tablename__ = "catalog_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The English name shown on pages in English mode (None: the Chinese name is shown).
    name_en: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16), index=True)
    department: Mapped[str] = mapped_column(String(128))
    legal_basis: Mapped[str] = mapped_column(Text)
    service_objects: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    cross_province: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    # Space-separated search terms (jieba words, abbreviations, pinyin, initials), built at
    # import time so that searching never segments or romanizes the catalog.
    search_terms: Mapped[str] = mapped_column(Text, default="")
    digest: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Set when the national catalog withdraws the item: it stays (cases and implementations
    # refer to it) but search no longer offers it (federation/catalog_feed.py, issue #18).
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    implementations: Mapped[list[Implementation]] = relationship(
        back_populates="item", order_by="Implementation.code"
    )

    __table_args__ = (CheckConstraint(_in("type", ItemType), name="type"),)


class Implementation(Base):
    """An implementation (实施清单) of a basic item by one authority in one region."""

    __tablename__ = "catalog_implementations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("catalog_items.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(12), ForeignKey("regions.code"), index=True)
    authority_name: Mapped[str] = mapped_column(String(128))
    authority_code: Mapped[str] = mapped_column(String(18), index=True)
    # The implementing authority as a department of identity (ensured at import).
    department_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("departments.id"), index=True
    )
    body_nature: Mapped[str] = mapped_column(String(16))
    entrusted_department: Mapped[str | None] = mapped_column(String(128))
    power_source: Mapped[int] = mapped_column(SmallInteger)
    exercise_level: Mapped[str] = mapped_column(String(8))
    business_type: Mapped[str | None] = mapped_column(String(8))
    case_type: Mapped[str] = mapped_column(String(8))
    statutory_limit_value: Mapped[int] = mapped_column(Integer)
    statutory_limit_unit: Mapped[str] = mapped_column(String(16))
    statutory_limit_note: Mapped[str] = mapped_column(Text, default="")
    promised_limit_value: Mapped[int] = mapped_column(Integer)
    promised_limit_unit: Mapped[str] = mapped_column(String(16))
    promised_limit_note: Mapped[str] = mapped_column(Text, default="")
    visits: Mapped[int] = mapped_column(SmallInteger)
    online_depth: Mapped[int] = mapped_column(SmallInteger)
    tongban_range: Mapped[str] = mapped_column(String(8), index=True)
    handling_forms: Mapped[list[str]] = mapped_column(JSON, default=list)
    acceptance_conditions: Mapped[str | None] = mapped_column(Text)
    handling_flow: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    hours: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(64))
    complaint_phone: Mapped[str | None] = mapped_column(String(64))
    result_type: Mapped[str | None] = mapped_column(String(32))
    result_name: Mapped[str | None] = mapped_column(String(128))
    form_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    digest: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    item: Mapped[BasicItem] = relationship(back_populates="implementations")
    materials: Mapped[list[Material]] = relationship(
        order_by="Material.position", cascade="all, delete-orphan"
    )
    fees: Mapped[list[Fee]] = relationship(order_by="Fee.position", cascade="all, delete-orphan")
    co_handlers: Mapped[list[CoHandler]] = relationship(
        order_by="CoHandler.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("power_source BETWEEN 1 AND 6", name="power_source"),
        CheckConstraint("online_depth BETWEEN 1 AND 7", name="online_depth"),
        CheckConstraint("visits >= 0", name="visits"),
        CheckConstraint(_in("tongban_range", TongbanRange), name="tongban_range"),
        CheckConstraint(_in("statutory_limit_unit", LimitUnit), name="statutory_limit_unit"),
        CheckConstraint(_in("promised_limit_unit", LimitUnit), name="promised_limit_unit"),
        Index("ix_catalog_implementations_region_item", "region_code", "item_id"),
    )


class Material(Base):
    """A material an implementation asks for."""

    __tablename__ = "catalog_materials"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    implementation_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_implementations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    required: Mapped[str] = mapped_column(String(12))
    condition: Mapped[str | None] = mapped_column(Text)
    formats: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(12))
    pages: Mapped[int | None] = mapped_column(Integer)
    basis: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(_in("required", MaterialRequired), name="required"),
        CheckConstraint(_in("source", MaterialSource), name="source"),
    )


class Fee(Base):
    """A fee charged by an implementation, in yuan."""

    __tablename__ = "catalog_fees"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    implementation_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_implementations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    basis: Mapped[str | None] = mapped_column(Text)
    reduction: Mapped[str | None] = mapped_column(Text)


class CoHandler(Base):
    """A co-handling authority of an implementation (联办件 / 多地联办)."""

    __tablename__ = "catalog_co_handlers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Named by hand: the conventional name passes PostgreSQL's 63-character limit.
    implementation_id: Mapped[int] = mapped_column(
        ForeignKey(
            "catalog_implementations.id",
            ondelete="CASCADE",
            name="fk_catalog_co_handlers_implementation",
        ),
        index=True,
    )
    position: Mapped[int] = mapped_column(Integer)
    authority_name: Mapped[str] = mapped_column(String(128))
    authority_code: Mapped[str] = mapped_column(String(18))
    region_code: Mapped[str] = mapped_column(String(12), ForeignKey("regions.code"))


class Bundle(Base):
    """A one-thing bundle (一件事一次办) of implementations with one promised limit."""

    __tablename__ = "catalog_bundles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(12), ForeignKey("regions.code"), index=True)
    promised_limit_value: Mapped[int | None] = mapped_column(Integer)
    promised_limit_unit: Mapped[str | None] = mapped_column(String(16))
    promised_limit_note: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str | None] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    components: Mapped[list[BundleComponent]] = relationship(
        order_by="BundleComponent.position", cascade="all, delete-orphan"
    )


class BundleComponent(Base):
    """One implementation inside a bundle, in order."""

    __tablename__ = "catalog_bundle_components"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    bundle_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_bundles.id", ondelete="CASCADE"), index=True
    )
    implementation_id: Mapped[int] = mapped_column(
        ForeignKey(
            "catalog_implementations.id", name="fk_catalog_bundle_components_implementation"
        ),
        index=True,
    )
    position: Mapped[int] = mapped_column(Integer)

    implementation: Mapped[Implementation] = relationship()


class CatalogRevision(Base):
    """One row per import: its token keys the in-process search index of that catalog state."""

    __tablename__ = "catalog_revisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(String(36), unique=True)
    source: Mapped[str] = mapped_column(String(200))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
