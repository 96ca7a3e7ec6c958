"""cases: drop ix_cases_filed_by_id, which the unique (filed_by_id, idempotency_key) covers

Every submission maintained both; lookups by filer use the unique key's leading column.

Revision ID: 0009_cases_filer_index
Revises: 0008_reviews
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0009_cases_filer_index"
down_revision = "0008_reviews"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f("ix_cases_filed_by_id"), table_name="cases")


def downgrade() -> None:
    op.create_index(op.f("ix_cases_filed_by_id"), "cases", ["filed_by_id"])
