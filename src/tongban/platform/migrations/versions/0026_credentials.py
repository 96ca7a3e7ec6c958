"""e-licences, issuer keys and status lists (issue #17)

Revision ID: 0026_credentials
Revises: 0025_tracker
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_credentials"
down_revision = "0025_tracker"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "credential_issuer_keys",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("department_code", sa.String(18), nullable=False),
        sa.Column("department_name", sa.String(200), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("thumbprint", sa.String(64), nullable=False),
        sa.Column("private_sealed", sa.Text(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        _when("created_at"),
        _when("rotated_at", True),
        _when("retired_at", True),
        sa.PrimaryKeyConstraint("id", name="pk_credential_issuer_keys"),
        sa.UniqueConstraint("kid", name="uq_credential_issuer_keys_kid"),
    )
    op.create_index(
        "ix_credential_issuer_keys_department_id", "credential_issuer_keys", ["department_id"]
    )
    op.create_table(
        "credential_status_lists",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("department_code", sa.String(18), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_credential_status_lists"),
    )
    op.create_index(
        "ix_credential_status_lists_department_id", "credential_status_lists", ["department_id"]
    )
    op.create_table(
        "credentials",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("licence_id", sa.String(120), nullable=True),
        sa.Column("type_code", sa.String(40), nullable=False),
        sa.Column("vct", sa.String(200), nullable=False),
        sa.Column("item_code", sa.String(40), nullable=True),
        sa.Column("case_number", sa.String(40), nullable=True),
        sa.Column("holder_id", sa.BigInteger(), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("department_code", sa.String(18), nullable=False),
        sa.Column("department_name", sa.String(200), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("list_id", BigId, nullable=False),
        sa.Column("list_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("sd_jwt", sa.Text(), nullable=True),
        _when("issued_at"),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_credentials"),
        sa.UniqueConstraint("licence_id", name="uq_credentials_licence_id"),
        sa.UniqueConstraint("list_id", "list_index", name="uq_credentials_list_id"),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["credential_status_lists.id"],
            name="fk_credentials_list_id_credential_status_lists",
        ),
    )
    op.create_index("ix_credentials_case_number", "credentials", ["case_number"])
    op.create_index("ix_credentials_holder_id", "credentials", ["holder_id"])
    op.create_index("ix_credentials_list_status", "credentials", ["list_id", "status"])
    op.create_table(
        "credential_uses",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("case_number", sa.String(40), nullable=False),
        sa.Column("material", sa.String(200), nullable=False),
        sa.Column("licence_id", sa.String(120), nullable=False),
        sa.Column("type_code", sa.String(40), nullable=False),
        sa.Column("type_name", sa.String(100), nullable=False),
        sa.Column("issuer_code", sa.String(18), nullable=False),
        sa.Column("issuer_name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        _when("verified_at"),
        sa.PrimaryKeyConstraint("id", name="pk_credential_uses"),
    )
    op.create_index("ix_credential_uses_case_number", "credential_uses", ["case_number"])
    op.create_table(
        "credential_shares",
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("holder_id", sa.BigInteger(), nullable=False),
        sa.Column("credential_id", BigId, nullable=False),
        sa.Column("presentation", sa.Text(), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        sa.PrimaryKeyConstraint("token", name="pk_credential_shares"),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name="fk_credential_shares_credential_id_credentials",
        ),
    )
    op.create_index("ix_credential_shares_holder_id", "credential_shares", ["holder_id"])


def downgrade() -> None:
    op.drop_table("credential_shares")
    op.drop_table("credential_uses")
    op.drop_table("credentials")
    op.drop_table("credential_status_lists")
    op.drop_table("credential_issuer_keys")
