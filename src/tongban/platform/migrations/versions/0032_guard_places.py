"""Where API tokens were used, for the guard (issue #20)

Revision ID: 0032_guard_places
Revises: 0031_witness
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032_guard_places"
down_revision = "0031_witness"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # identity: the addresses (keyed pseudonyms) each API token was used from
    # (identity/token_places.py), so that a token turning up somewhere new is a signal.
    op.create_table(
        "identity_token_places",
        sa.Column("token_id", BigId, autoincrement=False, nullable=False),
        sa.Column("client_key", sa.String(64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_id", "client_key", name="pk_identity_token_places"),
    )


def downgrade() -> None:
    op.drop_table("identity_token_places")
