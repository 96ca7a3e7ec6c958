"""identity: a proxy authorisation takes effect only when its agent confirms it

proxy_authorisations.confirmed_at: when the agent accepted the grant. Grants made before this
revision were already in force and stay so (confirmed when they were created): taking them
away silently would stop a relative in the middle of an elderly parent's case; a principal who
did not mean one revokes it as before.

Revision ID: 0017_proxy_confirmation
Revises: 0016_tracking
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_proxy_confirmation"
down_revision = "0016_tracking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "proxy_authorisations",
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute("UPDATE proxy_authorisations SET confirmed_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("proxy_authorisations") as batch:
        batch.drop_column("confirmed_at")
