"""identity tables

Revision ID: 0003_identity
Revises: 0002_regions
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_identity"
down_revision = "0002_regions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled in by the identity domain's work.
    _ = (sa, op)


def downgrade() -> None:
    pass
