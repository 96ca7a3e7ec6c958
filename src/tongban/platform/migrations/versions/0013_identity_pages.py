"""identity pages: forgotten passwords

- password_resets: one-time codes sent by SMS to reset a forgotten password (keyed hash only,
  an expiry and a limit of checks; identity/recovery.py).
- accounts.password_must_change: a clerk gave the owner a temporary password at a service
  point; the web front asks for a new one at the next login.

Revision ID: 0013_identity_pages
Revises: 0012_event_private
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_identity_pages"
down_revision = "0012_event_private"
branch_labels = None
depends_on = None


BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A plain ADD COLUMN: the accounts table is never rebuilt (0010_identity_security).
    op.add_column(
        "accounts",
        sa.Column("password_must_change", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "password_resets",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_password_resets_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
    )
    op.create_index(
        op.f("ix_password_resets_account_id"), "password_resets", ["account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_password_resets_account_id"), table_name="password_resets")
    op.drop_table("password_resets")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("password_must_change")
