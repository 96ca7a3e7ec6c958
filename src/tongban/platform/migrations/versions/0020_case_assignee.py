"""cases: the official a case is handed to within its department

cases.assignee_id: the account of the official who works the case now (NULL: the department's
queue as a whole). Set by a reassignment (cases/assignment.py), recorded as an event.

Revision ID: 0020_case_assignee
Revises: 0019_payout_confirmation
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_case_assignee"
down_revision = "0019_payout_confirmation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("assignee_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_cases_assignee", "cases", ["assignee_id", "due_date"])


def downgrade() -> None:
    op.drop_index("ix_cases_assignee", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("assignee_id")
