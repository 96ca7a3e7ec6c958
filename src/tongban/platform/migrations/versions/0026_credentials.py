"""e-licences, issuer keys and status lists (issue #17)

Revision ID: 0026_credentials
Revises: 0025_tracker
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0026_credentials"
down_revision = "0025_tracker"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
