"""the security brain's alerts, rules and responses (issue #20)

Revision ID: 0029_guard
Revises: 0028_assistant
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0029_guard"
down_revision = "0028_assistant"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
