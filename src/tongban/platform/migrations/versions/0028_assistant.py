"""the assistant's synonyms, FAQ and unanswered questions (issue #19)

Revision ID: 0028_assistant
Revises: 0027_federation
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tongban.platform.db import BigId

revision = "0028_assistant"
down_revision = "0027_federation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assistant_synonyms",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("word", sa.String(40), nullable=False),
        sa.Column("canonical", sa.String(80), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assistant_synonyms"),
        sa.UniqueConstraint("word", name="uq_assistant_synonyms_word"),
    )
    op.create_table(
        "assistant_faq",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("question", sa.String(200), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assistant_faq"),
    )
    op.create_table(
        "assistant_unanswered",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assistant_unanswered"),
        sa.UniqueConstraint("text", name="uq_assistant_unanswered_text"),
    )
    op.create_index("ix_assistant_unanswered_closed", "assistant_unanswered", ["closed"])


def downgrade() -> None:
    op.drop_index("ix_assistant_unanswered_closed", table_name="assistant_unanswered")
    op.drop_table("assistant_unanswered")
    op.drop_table("assistant_faq")
    op.drop_table("assistant_synonyms")
