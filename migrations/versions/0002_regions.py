"""regions tables

Revision ID: 0002_regions
Revises: 0001_events
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_regions"
down_revision = "0001_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled in by the regions domain's work.
    _ = (sa, op)


def downgrade() -> None:
    pass
