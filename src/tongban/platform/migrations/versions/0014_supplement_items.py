"""cases: 补正 requests as structured items (一次性告知)

- case_supplement_items: one line of a 补正 request each: a checklist material or a named
  extra item, the official's note, its state (requested, answered, accepted) and what
  answered it (file digests, or an explanation).

Revision ID: 0014_supplement_items
Revises: 0013_identity_pages
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_supplement_items"
down_revision = "0013_identity_pages"
branch_labels = None
depends_on = None


BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "case_supplement_items",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("request_no", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("origin", sa.String(12), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=True),
        _ts("requested_at", nullable=False),
        _ts("answered_at"),
        sa.Column("answered_by_id", sa.BigInteger(), nullable=True),
        _ts("reviewed_at"),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_supplement_items_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_supplement_items")),
    )
    op.create_index(op.f("ix_case_supplement_items_case_id"), "case_supplement_items", ["case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_case_supplement_items_case_id"), table_name="case_supplement_items")
    op.drop_table("case_supplement_items")
