"""catalog: English names of items and bundles (name_en)

catalog_items.name_en, catalog_bundles.name_en: shown instead of the Chinese name on pages in
English mode. Optional: a catalog without them shows the Chinese name, as before.

Revision ID: 0021_catalog_name_en
Revises: 0020_case_assignee
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_catalog_name_en"
down_revision = "0020_case_assignee"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("catalog_items", sa.Column("name_en", sa.String(length=200), nullable=True))
    op.add_column("catalog_bundles", sa.Column("name_en", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("catalog_bundles") as batch:
        batch.drop_column("name_en")
    with op.batch_alter_table("catalog_items") as batch:
        batch.drop_column("name_en")
