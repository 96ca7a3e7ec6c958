"""exchange: what #15's remaining work needs (issue #15)

Revision ID: 0023_exchange_more
Revises: 0022_exchange
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0023_exchange_more"
down_revision = "0022_exchange"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
