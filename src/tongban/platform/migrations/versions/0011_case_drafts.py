"""cases: drafts kept on the server per account; later uploaders of the same bytes

case_drafts replaces the draft cookie: an application not sent yet is kept for its account
(at most a few, for 30 days), so nothing of a form stays in a shared browser.
case_upload_owners records each account that uploaded bytes already stored, besides the first
uploader on case_uploads: a submission attaches only its caller's (or principal's) uploads.

Revision ID: 0011_case_drafts
Revises: 0010_identity_security
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_case_drafts"
down_revision = "0010_identity_security"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "case_drafts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("implementation_code", sa.String(80), nullable=False),
        sa.Column("form_values", sa.JSON(), nullable=False),
        sa.Column("typed_values", sa.JSON(), nullable=False),
        sa.Column("on_behalf_of_id", sa.BigInteger(), nullable=True),
        sa.Column("materials", sa.JSON(), nullable=False),
        _ts("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_drafts")),
        sa.UniqueConstraint(
            "account_id",
            "implementation_code",
            name=op.f("uq_case_drafts_account_id_implementation_code"),
        ),
    )
    op.create_table(
        "case_upload_owners",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        _ts("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["case_uploads.sha256"],
            name=op.f("fk_case_upload_owners_sha256_case_uploads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sha256", "account_id", name=op.f("pk_case_upload_owners")),
    )


def downgrade() -> None:
    op.drop_table("case_upload_owners")
    op.drop_table("case_drafts")
