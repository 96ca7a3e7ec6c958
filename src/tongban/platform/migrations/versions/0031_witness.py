"""Witness cosignatures between nodes (issue #18)

Revision ID: 0031_witness
Revises: 0030_govstack
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031_witness"
down_revision = "0030_govstack"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_cosignatures",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("witness", sa.String(255), nullable=False),
        sa.Column("key_id", sa.String(8), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("cosigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_cosignatures")),
        sa.UniqueConstraint("size", "witness", name="uq_ledger_cosignatures_size_witness"),
    )
    op.create_index(
        "ix_ledger_cosignatures_witness_size", "ledger_cosignatures", ["witness", "size"]
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_cosignatures_witness_size", table_name="ledger_cosignatures")
    op.drop_table("ledger_cosignatures")
