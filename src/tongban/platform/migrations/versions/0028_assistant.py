"""the assistant's synonyms, FAQ and unanswered questions (issue #19)

Revision ID: 0028_assistant
Revises: 0027_federation
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0028_assistant"
down_revision = "0027_federation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
