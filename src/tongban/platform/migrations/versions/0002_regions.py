"""regions: administrative divisions (GB/T 2260 codes), zone, urban/rural, population

Revision ID: 0002_regions
Revises: 0001_events
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_regions"
down_revision = "0001_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_code", sa.String(12), nullable=True),
        sa.Column("zone", sa.String(16), nullable=False),
        sa.Column("urban_rural", sa.String(8), nullable=False),
        sa.Column("urban_rural_overridden", sa.Boolean(), nullable=False),
        sa.Column("population", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_regions")),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["regions.code"], name=op.f("fk_regions_parent_code_regions")
        ),
        sa.CheckConstraint(
            "level IN ('province', 'prefecture', 'county', 'township', 'village')",
            name=op.f("ck_regions_level"),
        ),
        sa.CheckConstraint(
            "zone IN ('east', 'central', 'west', 'northeast')", name=op.f("ck_regions_zone")
        ),
        sa.CheckConstraint(
            "urban_rural IN ('urban', 'rural')", name=op.f("ck_regions_urban_rural")
        ),
        sa.CheckConstraint("source IN ('builtin', 'operator')", name=op.f("ck_regions_source")),
    )
    op.create_index(op.f("ix_regions_parent_code"), "regions", ["parent_code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_regions_parent_code"), table_name="regions")
    op.drop_table("regions")
