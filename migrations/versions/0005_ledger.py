"""ledger tables

Revision ID: 0005_ledger
Revises: 0004_catalog
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_ledger"
down_revision = "0004_catalog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled in by the ledger domain's work.
    _ = (sa, op)


def downgrade() -> None:
    pass
