"""events: a private part beside the personal one, and the event format

Format 2 events keep text written by people and who relates to whom out of the public ledger
leaf: `private` holds what is neither public (`data`) nor personal data about one person
(`personal`); the salted commitment covers both, the actor, the principal and the reason.
`format` tells format 2 events from those written before (NULL = format 1), whose leaves
showed everything but `personal` and are served as hashes only (docs/ledger.md).

Revision ID: 0012_event_private
Revises: 0011_case_drafts
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_event_private"
down_revision = "0011_case_drafts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("private", sa.JSON(), nullable=True))
    op.add_column("events", sa.Column("format", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("format")
        batch.drop_column("private")
