"""consent artefacts (issue #16): which uses of a resource need the data subject's consent,
the consent requests and signed artefacts, and each use made under a consent

Revision ID: 0024_consent
Revises: 0023_exchange_more
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_consent"
down_revision = "0023_exchange_more"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "consent_requirements",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("resource_code", sa.String(40), nullable=False),
        sa.Column("consumer_code", sa.String(18), nullable=True),
        sa.Column("exempt_items", sa.JSON(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("set_by_id", sa.BigInteger(), nullable=True),
        _when("created_at"),
        _when("withdrawn_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consent_requirements"),
    )
    op.create_index(
        "ix_consent_requirements_resource_code", "consent_requirements", ["resource_code"]
    )
    op.create_table(
        "consents",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(36), nullable=False),
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("subject_account_id", sa.BigInteger(), nullable=True),
        sa.Column("subject_masked", sa.String(24), nullable=False),
        sa.Column("requester_department_id", sa.BigInteger(), nullable=False),
        sa.Column("requester_code", sa.String(18), nullable=False),
        sa.Column("requester_name", sa.String(200), nullable=False),
        sa.Column("requester_region", sa.String(12), nullable=False),
        sa.Column("requested_by_id", sa.BigInteger(), nullable=True),
        sa.Column("provider_code", sa.String(18), nullable=False),
        sa.Column("provider_name", sa.String(200), nullable=False),
        sa.Column("resource_code", sa.String(40), nullable=False),
        sa.Column("resource_name", sa.String(200), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("purpose_code", sa.String(40), nullable=False),
        sa.Column("purpose_text", sa.Text(), nullable=False),
        sa.Column("case_number", sa.String(40), nullable=True),
        sa.Column("item_code", sa.String(64), nullable=True),
        _when("valid_from"),
        _when("valid_until"),
        sa.Column("frequency_unit", sa.String(8), nullable=False),
        sa.Column("frequency_value", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        _when("requested_at"),
        _when("decided_at", nullable=True),
        sa.Column("decided_by_id", sa.BigInteger(), nullable=True),
        sa.Column("decided_via", sa.String(8), nullable=True),
        sa.Column("paper_sha256", sa.String(64), nullable=True),
        _when("revoked_at", nullable=True),
        sa.Column("revoked_by_id", sa.BigInteger(), nullable=True),
        sa.Column("artefact", sa.Text(), nullable=True),
        sa.Column("artefact_sha256", sa.String(64), nullable=True),
        sa.Column("signature", sa.String(120), nullable=True),
        sa.Column("key_id", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
        sa.UniqueConstraint("uid", name="uq_consents_uid"),
    )
    op.create_index("ix_consents_subject_account_id", "consents", ["subject_account_id"])
    op.create_index("ix_consents_requester_department_id", "consents", ["requester_department_id"])
    op.create_index(
        "ix_consents_subject", "consents", ["subject_hash", "resource_code", "requester_code"]
    )
    op.create_table(
        "consent_uses",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("consent_id", BigId, nullable=False),
        sa.Column("case_number", sa.String(40), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        _when("used_at"),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name="fk_consent_uses_consent_id_consents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_consent_uses"),
    )
    op.create_index("ix_consent_uses_consent", "consent_uses", ["consent_id", "used_at"])


def downgrade() -> None:
    op.drop_index("ix_consent_uses_consent", table_name="consent_uses")
    op.drop_table("consent_uses")
    op.drop_index("ix_consents_subject", table_name="consents")
    op.drop_index("ix_consents_requester_department_id", table_name="consents")
    op.drop_index("ix_consents_subject_account_id", table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_consent_requirements_resource_code", table_name="consent_requirements")
    op.drop_table("consent_requirements")
