"""cases: a payout account given by an agent waits for the applicant's confirmation

cases.payout_pending: set when an agent (亲友代办) names a payout account; the case is not
decided until the applicant confirms it. Cases filed before are not held.

Revision ID: 0019_payout_confirmation
Revises: 0018_help_requests
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_payout_confirmation"
down_revision = "0018_help_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "cases",
        sa.Column("payout_pending", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("payout_pending")
