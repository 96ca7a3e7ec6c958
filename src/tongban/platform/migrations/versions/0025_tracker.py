"""the data-usage tracker and objections (issue #16)

Revision ID: 0025_tracker
Revises: 0024_consent
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0025_tracker"
down_revision = "0024_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
