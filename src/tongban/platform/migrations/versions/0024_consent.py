"""consent artefacts (issue #16)

Revision ID: 0024_consent
Revises: 0023_exchange_more
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0024_consent"
down_revision = "0023_exchange_more"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
