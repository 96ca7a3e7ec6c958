"""reviews: a rating needs only its overall level (the other indicators are optional)

A citizen rates with one tap on the five-face scale; efficiency, like the other indicators of
the channel, may follow or not (issue #13, item 3). Ratings stored before keep their levels.

Revision ID: 0015_results_and_ratings
Revises: 0014_supplement_items
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_results_and_ratings"
down_revision = "0014_supplement_items"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.alter_column("efficiency", existing_type=sa.SmallInteger(), nullable=True)


def downgrade() -> None:
    # A rating given without efficiency gets its overall level (the closest stand-in).
    op.execute("UPDATE reviews SET efficiency = overall WHERE efficiency IS NULL")
    with op.batch_alter_table("reviews") as batch:
        batch.alter_column("efficiency", existing_type=sa.SmallInteger(), nullable=False)
