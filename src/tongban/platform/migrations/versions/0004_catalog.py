"""catalog tables

Revision ID: 0004_catalog
Revises: 0003_identity
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_catalog"
down_revision = "0003_identity"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.DateTime(timezone=True)


def _in(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


ITEM_TYPES = [
    "行政许可", "行政处罚", "行政强制", "行政征收", "行政给付", "行政检查",
    "行政确认", "行政奖励", "行政裁决", "其他行政权力", "公共服务", "行政备案",
]  # fmt: skip
RANGES = ["全国", "跨省", "全省", "全市", "全县", "定点办理"]
UNITS = ["working_days", "natural_days"]


def upgrade() -> None:
    op.create_table(
        "catalog_items",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("department", sa.String(128), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("service_objects", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("cross_province", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("search_terms", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_items")),
        sa.UniqueConstraint("code", name=op.f("uq_catalog_items_code")),
        sa.CheckConstraint(_in("type", ITEM_TYPES), name=op.f("ck_catalog_items_type")),
    )
    op.create_index(op.f("ix_catalog_items_type"), "catalog_items", ["type"])

    op.create_table(
        "catalog_implementations",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(80), nullable=False),
        sa.Column("item_id", BigId, nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("authority_name", sa.String(128), nullable=False),
        sa.Column("authority_code", sa.String(18), nullable=False),
        sa.Column("department_id", BigId, nullable=True),
        sa.Column("body_nature", sa.String(16), nullable=False),
        sa.Column("entrusted_department", sa.String(128), nullable=True),
        sa.Column("power_source", sa.SmallInteger(), nullable=False),
        sa.Column("exercise_level", sa.String(8), nullable=False),
        sa.Column("business_type", sa.String(8), nullable=True),
        sa.Column("case_type", sa.String(8), nullable=False),
        sa.Column("statutory_limit_value", sa.Integer(), nullable=False),
        sa.Column("statutory_limit_unit", sa.String(16), nullable=False),
        sa.Column("statutory_limit_note", sa.Text(), nullable=False),
        sa.Column("promised_limit_value", sa.Integer(), nullable=False),
        sa.Column("promised_limit_unit", sa.String(16), nullable=False),
        sa.Column("promised_limit_note", sa.Text(), nullable=False),
        sa.Column("visits", sa.SmallInteger(), nullable=False),
        sa.Column("online_depth", sa.SmallInteger(), nullable=False),
        sa.Column("tongban_range", sa.String(8), nullable=False),
        sa.Column("handling_forms", sa.JSON(), nullable=False),
        sa.Column("acceptance_conditions", sa.Text(), nullable=True),
        sa.Column("handling_flow", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("hours", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(64), nullable=True),
        sa.Column("complaint_phone", sa.String(64), nullable=True),
        sa.Column("result_type", sa.String(32), nullable=True),
        sa.Column("result_name", sa.String(128), nullable=True),
        sa.Column("form_fields", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_implementations")),
        sa.UniqueConstraint("code", name=op.f("uq_catalog_implementations_code")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["catalog_items.id"],
            name=op.f("fk_catalog_implementations_item_id_catalog_items"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["regions.code"],
            name=op.f("fk_catalog_implementations_region_code_regions"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_catalog_implementations_department_id_departments"),
        ),
        sa.CheckConstraint(
            "power_source BETWEEN 1 AND 6", name=op.f("ck_catalog_implementations_power_source")
        ),
        sa.CheckConstraint(
            "online_depth BETWEEN 1 AND 7", name=op.f("ck_catalog_implementations_online_depth")
        ),
        sa.CheckConstraint("visits >= 0", name=op.f("ck_catalog_implementations_visits")),
        sa.CheckConstraint(
            _in("tongban_range", RANGES), name=op.f("ck_catalog_implementations_tongban_range")
        ),
        sa.CheckConstraint(
            _in("statutory_limit_unit", UNITS),
            name=op.f("ck_catalog_implementations_statutory_limit_unit"),
        ),
        sa.CheckConstraint(
            _in("promised_limit_unit", UNITS),
            name=op.f("ck_catalog_implementations_promised_limit_unit"),
        ),
    )
    for column in ("item_id", "region_code", "authority_code", "department_id", "tongban_range"):
        op.create_index(
            op.f(f"ix_catalog_implementations_{column}"), "catalog_implementations", [column]
        )
    op.create_index(
        "ix_catalog_implementations_region_item",
        "catalog_implementations",
        ["region_code", "item_id"],
    )

    op.create_table(
        "catalog_materials",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("implementation_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("required", sa.String(12), nullable=False),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("formats", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_materials")),
        sa.ForeignKeyConstraint(
            ["implementation_id"],
            ["catalog_implementations.id"],
            name=op.f("fk_catalog_materials_implementation_id_catalog_implementations"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            _in("required", ["yes", "no", "conditional"]),
            name=op.f("ck_catalog_materials_required"),
        ),
        sa.CheckConstraint(
            _in("source", ["applicant", "government"]), name=op.f("ck_catalog_materials_source")
        ),
    )
    op.create_index(
        op.f("ix_catalog_materials_implementation_id"), "catalog_materials", ["implementation_id"]
    )

    op.create_table(
        "catalog_fees",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("implementation_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.Column("reduction", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_fees")),
        sa.ForeignKeyConstraint(
            ["implementation_id"],
            ["catalog_implementations.id"],
            name=op.f("fk_catalog_fees_implementation_id_catalog_implementations"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_catalog_fees_implementation_id"), "catalog_fees", ["implementation_id"]
    )

    op.create_table(
        "catalog_co_handlers",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("implementation_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("authority_name", sa.String(128), nullable=False),
        sa.Column("authority_code", sa.String(18), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_co_handlers")),
        sa.ForeignKeyConstraint(
            ["implementation_id"],
            ["catalog_implementations.id"],
            name=op.f("fk_catalog_co_handlers_implementation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["regions.code"],
            name=op.f("fk_catalog_co_handlers_region_code_regions"),
        ),
    )
    op.create_index(
        op.f("ix_catalog_co_handlers_implementation_id"),
        "catalog_co_handlers",
        ["implementation_id"],
    )

    op.create_table(
        "catalog_bundles",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("promised_limit_value", sa.Integer(), nullable=True),
        sa.Column("promised_limit_unit", sa.String(16), nullable=True),
        sa.Column("promised_limit_note", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_bundles")),
        sa.UniqueConstraint("code", name=op.f("uq_catalog_bundles_code")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_catalog_bundles_region_code_regions")
        ),
    )
    op.create_index(op.f("ix_catalog_bundles_region_code"), "catalog_bundles", ["region_code"])

    op.create_table(
        "catalog_bundle_components",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("bundle_id", BigId, nullable=False),
        sa.Column("implementation_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_bundle_components")),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["catalog_bundles.id"],
            name=op.f("fk_catalog_bundle_components_bundle_id_catalog_bundles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["implementation_id"],
            ["catalog_implementations.id"],
            name=op.f("fk_catalog_bundle_components_implementation"),
        ),
    )
    op.create_index(
        op.f("ix_catalog_bundle_components_bundle_id"), "catalog_bundle_components", ["bundle_id"]
    )
    op.create_index(
        op.f("ix_catalog_bundle_components_implementation_id"),
        "catalog_bundle_components",
        ["implementation_id"],
    )

    op.create_table(
        "catalog_revisions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("token", sa.String(36), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_revisions")),
        sa.UniqueConstraint("token", name=op.f("uq_catalog_revisions_token")),
    )


def downgrade() -> None:
    for table in (
        "catalog_revisions",
        "catalog_bundle_components",
        "catalog_bundles",
        "catalog_co_handlers",
        "catalog_fees",
        "catalog_materials",
        "catalog_implementations",
        "catalog_items",
    ):
        op.drop_table(table)
