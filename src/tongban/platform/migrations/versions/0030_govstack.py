"""GovStack clients and sample state (issue #21)

Revision ID: 0030_govstack
Revises: 0029_guard
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0030_govstack"
down_revision = "0029_guard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
