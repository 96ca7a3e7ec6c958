"""cases: help requests (请工作人员帮我办): a citizen asks the nearest service point to call back

Revision ID: 0018_help_requests
Revises: 0017_proxy_confirmation
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_help_requests"
down_revision = "0017_proxy_confirmation"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "help_requests",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_point", sa.String(12), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("handled_by_id", sa.BigInteger(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_help_requests_service_point", "help_requests", ["service_point"])
    op.create_index("ix_help_requests_phone", "help_requests", ["phone"])


def downgrade() -> None:
    op.drop_table("help_requests")
