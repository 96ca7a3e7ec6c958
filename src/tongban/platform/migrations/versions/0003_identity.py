"""identity tables

Revision ID: 0003_identity
Revises: 0002_regions
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_identity"
down_revision = "0002_regions"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(18), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("parent_id", BigId, nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("code", name=op.f("uq_departments_code")),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["departments.id"],
            name=op.f("fk_departments_parent_id_departments"),
            ondelete="RESTRICT",
        ),
    )
    op.create_index(op.f("ix_departments_region_code"), "departments", ["region_code"])

    op.create_table(
        "accounts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("resident_id_hash", sa.String(64), nullable=True),
        sa.Column("resident_id_masked", sa.String(18), nullable=True),
        sa.Column("resident_id_encrypted", sa.Text(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(1), nullable=True),
        sa.Column("department_id", BigId, nullable=True),
        sa.Column("region_code", sa.String(12), nullable=True),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("elderly_mode", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _ts("password_changed_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_accounts_username")),
        sa.UniqueConstraint("resident_id_hash", name=op.f("uq_accounts_resident_id_hash")),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_accounts_department_id_departments"),
            ondelete="RESTRICT",
        ),
    )
    op.create_index(op.f("ix_accounts_role"), "accounts", ["role"])
    op.create_index(op.f("ix_accounts_department_id"), "accounts", ["department_id"])
    op.create_index(op.f("ix_accounts_region_code"), "accounts", ["region_code"])

    for table, extra in (
        (
            "login_sessions",
            [
                sa.Column("user_agent", sa.String(300), nullable=True),
                sa.Column("client_ip", sa.String(64), nullable=True),
            ],
        ),
        (
            "api_tokens",
            [
                sa.Column("name", sa.String(100), nullable=False),
                _ts("last_used_at", nullable=True),
            ],
        ),
    ):
        op.create_table(
            table,
            sa.Column("id", BigId, autoincrement=True, nullable=False),
            sa.Column("token_hash", sa.String(64), nullable=False),
            sa.Column("account_id", BigId, nullable=False),
            _ts("created_at"),
            _ts("expires_at"),
            _ts("revoked_at", nullable=True),
            *extra,
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("token_hash", name=op.f(f"uq_{table}_token_hash")),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f(f"fk_{table}_account_id_accounts"),
                ondelete="CASCADE",
            ),
        )
        op.create_index(op.f(f"ix_{table}_account_id"), table, ["account_id"])

    op.create_table(
        "login_attempts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        _ts("attempted_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_username", "login_attempts", ["username", "attempted_at"])
    op.create_index("ix_login_attempts_client_ip", "login_attempts", ["client_ip", "attempted_at"])

    op.create_table(
        "proxy_authorisations",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("principal_id", BigId, nullable=False),
        sa.Column("agent_id", BigId, nullable=False),
        sa.Column("relation", sa.String(16), nullable=False),
        sa.Column("all_items", sa.Boolean(), nullable=False),
        sa.Column("item_codes", sa.JSON(), nullable=False),
        _ts("valid_from"),
        _ts("expires_at"),
        _ts("revoked_at", nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_authorisations")),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["accounts.id"],
            name=op.f("fk_proxy_authorisations_principal_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["accounts.id"],
            name=op.f("fk_proxy_authorisations_agent_id_accounts"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_proxy_authorisations_principal_id"), "proxy_authorisations", ["principal_id"]
    )
    op.create_index(op.f("ix_proxy_authorisations_agent_id"), "proxy_authorisations", ["agent_id"])


def downgrade() -> None:
    for table in (
        "proxy_authorisations",
        "login_attempts",
        "api_tokens",
        "login_sessions",
        "accounts",
        "departments",
    ):
        op.drop_table(table)
