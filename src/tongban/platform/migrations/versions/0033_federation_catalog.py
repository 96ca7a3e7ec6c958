"""The national basic catalog published to nodes and stations (issue #18)

Revision ID: 0033_federation_catalog
Revises: 0032_guard_places
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033_federation_catalog"
down_revision = "0032_guard_places"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("catalog_items", _when("withdrawn_at", nullable=True))
    op.create_table(
        "federation_catalog_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        _when("published_at"),
        sa.PrimaryKeyConstraint("version", name="pk_federation_catalog_versions"),
    )
    op.create_table(
        "federation_catalog_applied",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("issuer", sa.String(128), nullable=False),
        sa.Column("via", sa.String(8), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        _when("applied_at"),
        sa.PrimaryKeyConstraint("version", name="pk_federation_catalog_applied"),
    )


def downgrade() -> None:
    op.drop_table("federation_catalog_applied")
    op.drop_table("federation_catalog_versions")
    with op.batch_alter_table("catalog_items") as batch:
        batch.drop_column("withdrawn_at")
