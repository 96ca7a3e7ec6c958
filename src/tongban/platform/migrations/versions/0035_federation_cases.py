"""Federation: bundles, joint handling and withdrawals across nodes (issue #18)

Revision ID: 0035_federation_cases
Revises: 0033_federation_catalog
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035_federation_cases"
down_revision = "0033_federation_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_requests",
        sa.Column("message_id", sa.String(80), nullable=False),
        sa.Column("case_number", sa.String(40), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("peer_node", sa.String(128), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("answer", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("message_id", name="pk_federation_requests"),
    )
    op.create_index(
        "ix_federation_requests_case", "federation_requests", ["case_number", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_federation_requests_case", table_name="federation_requests")
    op.drop_table("federation_requests")
