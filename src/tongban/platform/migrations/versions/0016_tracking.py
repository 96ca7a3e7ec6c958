"""cases: the resident ID hash of an applicant filed for at a counter

`cases.applicant_resident_id_hash` keeps the keyed lookup hash of the applicant's resident ID
when a clerk files for them, so that the case joins their account once the number is bound to
it (identity verified). Cases filed before this revision keep NULL: their numbers are in the
personal part of their `case.submitted` events only.

Revision ID: 0016_tracking
Revises: 0015_results_and_ratings
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_tracking"
down_revision = "0015_results_and_ratings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("applicant_resident_id_hash", sa.String(64), nullable=True))
    op.create_index("ix_cases_applicant_resident", "cases", ["applicant_resident_id_hash"])


def downgrade() -> None:
    op.drop_index("ix_cases_applicant_resident", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("applicant_resident_id_hash")
