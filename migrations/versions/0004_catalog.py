"""catalog tables

Revision ID: 0004_catalog
Revises: 0003_identity
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_catalog"
down_revision = "0003_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled in by the catalog domain's work.
    _ = (sa, op)


def downgrade() -> None:
    pass
