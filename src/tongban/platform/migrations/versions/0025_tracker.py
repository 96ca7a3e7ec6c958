"""the data-usage tracker and objections (issue #16)

Revision ID: 0025_tracker
Revises: 0024_consent
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_tracker"
down_revision = "0024_consent"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "data_uses",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_uid", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        _when("occurred_at"),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("department_code", sa.String(32), nullable=True),
        sa.Column("department_name", sa.String(200), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_role", sa.String(16), nullable=True),
        sa.Column("actor_name_masked", sa.String(40), nullable=True),
        sa.Column("case_number", sa.String(40), nullable=True),
        sa.Column("item_code", sa.String(40), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("field_labels", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_data_uses"),
        sa.UniqueConstraint("event_id", name="uq_data_uses_event_id"),
    )
    op.create_index("ix_data_uses_subject_time", "data_uses", ["subject_id", "occurred_at", "id"])
    op.create_index(
        "ix_data_uses_subject_department",
        "data_uses",
        ["subject_id", "department_code", "occurred_at", "id"],
    )
    op.create_table(
        "data_use_objections",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("data_use_id", BigId, nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("filed_by_id", sa.BigInteger(), nullable=False),
        sa.Column("department_code", sa.String(32), nullable=True),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        sa.Column("region_code", sa.String(12), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        _when("filed_at"),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        _when("answered_at", nullable=True),
        sa.Column("answered_by_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_data_use_objections"),
        sa.ForeignKeyConstraint(
            ["data_use_id"],
            ["data_uses.id"],
            name="fk_data_use_objections_data_use_id_data_uses",
        ),
    )
    op.create_index("ix_data_use_objections_use", "data_use_objections", ["data_use_id"])
    op.create_index(
        "ix_data_use_objections_department",
        "data_use_objections",
        ["department_id", "answered_at", "due_date"],
    )
    op.create_index(
        "ix_data_use_objections_due", "data_use_objections", ["answered_at", "due_date"]
    )


def downgrade() -> None:
    op.drop_table("data_use_objections")
    op.drop_table("data_uses")
