"""nodes, routing and cross-node transfer (issue #18)

Revision ID: 0027_federation
Revises: 0026_credentials
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tongban.platform.db import BigId

revision = "0027_federation"
down_revision = "0026_credentials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("target_node", sa.String(128), nullable=False),
        sa.Column("case_number", sa.String(40), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("message_id", name="uq_federation_outbox_message_id"),
    )
    op.create_index("ix_federation_outbox_pending", "federation_outbox", ["sent_at", "id"])
    op.create_table(
        "federation_inbox",
        sa.Column("message_id", sa.String(80), primary_key=True),
        sa.Column("sender_node", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("case_number", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "federation_links",
        sa.Column("case_number", sa.String(40), primary_key=True),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("peer_node", sa.String(128), nullable=False),
        sa.Column("remote_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("federation_links")
    op.drop_table("federation_inbox")
    op.drop_index("ix_federation_outbox_pending", table_name="federation_outbox")
    op.drop_table("federation_outbox")
