"""the security brain's alerts, rules and responses (issue #20)

Revision ID: 0029_guard
Revises: 0028_assistant
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029_guard"
down_revision = "0028_assistant"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # identity: the stops the request path enforces (identity/blocks.py)
    op.create_table(
        "identity_blocks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("alert_id", BigId, nullable=True),
        _when("created_at"),
        _when("until", True),
        _when("lifted_at", True),
        sa.Column("lifted_by", BigId, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_identity_blocks"),
    )
    op.create_index("ix_identity_blocks_key", "identity_blocks", ["kind", "key"])
    op.create_table(
        "guard_rules",
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.String(12), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        _when("updated_at"),
        sa.Column("updated_by", BigId, nullable=True),
        sa.PrimaryKeyConstraint("kind", name="pk_guard_rules"),
    )
    op.create_table(
        "guard_alerts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("severity", sa.String(12), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=True),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("nodes", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("explanation_zh", sa.Text(), nullable=False),
        sa.Column("explanation_en", sa.Text(), nullable=False),
        _when("first_event_at"),
        _when("last_event_at"),
        _when("raised_at"),
        sa.Column("assignee_id", BigId, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_guard_alerts"),
    )
    op.create_index("ix_guard_alerts_state", "guard_alerts", ["state", "severity", "id"])
    op.create_index("ix_guard_alerts_subject", "guard_alerts", ["kind", "subject", "id"])
    op.create_index("ix_guard_alerts_region", "guard_alerts", ["region_code", "id"])
    op.create_table(
        "guard_responses",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("alert_id", BigId, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("block_id", BigId, nullable=True),
        sa.Column("target", sa.String(80), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        _when("created_at"),
        _when("reversed_at", True),
        sa.Column("reversed_by", BigId, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_guard_responses"),
    )
    op.create_index("ix_guard_responses_alert_id", "guard_responses", ["alert_id"])
    op.create_table(
        "guard_cursors",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_event_id", BigId, nullable=False),
        _when("updated_at"),
        sa.Column("lag_seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_guard_cursors"),
    )


def downgrade() -> None:
    op.drop_table("guard_cursors")
    op.drop_index("ix_guard_responses_alert_id", table_name="guard_responses")
    op.drop_table("guard_responses")
    for name in ("ix_guard_alerts_region", "ix_guard_alerts_subject", "ix_guard_alerts_state"):
        op.drop_index(name, table_name="guard_alerts")
    op.drop_table("guard_alerts")
    op.drop_table("guard_rules")
    op.drop_index("ix_identity_blocks_key", table_name="identity_blocks")
    op.drop_table("identity_blocks")
