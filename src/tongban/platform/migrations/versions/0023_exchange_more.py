"""exchange: the queue of fetches at acceptance, run after the acceptance commits (issue #15)

Revision ID: 0023_exchange_more
Revises: 0022_exchange
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_exchange_more"
down_revision = "0022_exchange"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "exchange_pending_fetches",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("case_number", sa.String(40), nullable=False),
        sa.Column("resource_code", sa.String(40), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("lease_until", nullable=True),
        sa.Column("problem", sa.String(40), nullable=True),
        sa.Column("fetch_id", sa.BigInteger(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_pending_fetches"),
        sa.UniqueConstraint(
            "case_number",
            "resource_code",
            name="uq_exchange_pending_fetches_case_number_resource_code",
        ),
    )
    op.create_index(
        "ix_exchange_pending_fetches_due",
        "exchange_pending_fetches",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_exchange_pending_fetches_due", table_name="exchange_pending_fetches")
    op.drop_table("exchange_pending_fetches")
