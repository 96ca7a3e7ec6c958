"""nodes, routing and cross-node transfer (issue #18)

Revision ID: 0027_federation
Revises: 0026_credentials
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "0027_federation"
down_revision = "0026_credentials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
