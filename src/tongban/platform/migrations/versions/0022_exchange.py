"""exchange: the data resource catalogue, sharing requests and agreements, the fetch log, local
providers' records, the node directory and the message log (issue #15)

Revision ID: 0022_exchange
Revises: 0021_catalog_name_en
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_exchange"
down_revision = "0021_catalog_name_en"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "exchange_resources",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("provider_department_id", sa.BigInteger(), nullable=False),
        sa.Column("provider_code", sa.String(18), nullable=False),
        sa.Column("provider_name", sa.String(200), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("sharing", sa.String(16), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("update_frequency", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_resources"),
        sa.UniqueConstraint("code", name="uq_exchange_resources_code"),
    )
    op.create_index(
        "ix_exchange_resources_provider_department_id",
        "exchange_resources",
        ["provider_department_id"],
    )
    op.create_table(
        "exchange_requests",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("resource_id", BigId, nullable=False),
        sa.Column("consumer_department_id", sa.BigInteger(), nullable=False),
        sa.Column("consumer_code", sa.String(18), nullable=False),
        sa.Column("consumer_region", sa.String(12), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("item_codes", sa.JSON(), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.BigInteger(), nullable=True),
        _when("requested_at"),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by_id", sa.BigInteger(), nullable=True),
        _when("decided_at", nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["exchange_resources.id"],
            name="fk_exchange_requests_resource_id_exchange_resources",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_requests"),
    )
    op.create_index(
        "ix_exchange_requests_consumer_department_id",
        "exchange_requests",
        ["consumer_department_id"],
    )
    op.create_index("ix_exchange_requests_status", "exchange_requests", ["status", "due_date"])
    op.create_table(
        "exchange_agreements",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("request_id", BigId, nullable=True),
        sa.Column("resource_id", BigId, nullable=False),
        sa.Column("consumer_department_id", sa.BigInteger(), nullable=False),
        sa.Column("consumer_code", sa.String(18), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("item_codes", sa.JSON(), nullable=False),
        _when("valid_from"),
        _when("valid_until"),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("policy_sha256", sa.String(64), nullable=False),
        _when("revoked_at", nullable=True),
        sa.Column("revoked_by_id", sa.BigInteger(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["exchange_requests.id"],
            name="fk_exchange_agreements_request_id_exchange_requests",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["exchange_resources.id"],
            name="fk_exchange_agreements_resource_id_exchange_resources",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_agreements"),
        sa.UniqueConstraint("request_id", name="uq_exchange_agreements_request_id"),
    )
    op.create_index(
        "ix_exchange_agreements_pair",
        "exchange_agreements",
        ["consumer_department_id", "resource_id"],
    )
    op.create_table(
        "exchange_fetches",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("case_number", sa.String(40), nullable=False),
        sa.Column("resource_code", sa.String(40), nullable=False),
        sa.Column("resource_name", sa.String(200), nullable=False),
        sa.Column("provider_name", sa.String(200), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("agreement_id", sa.BigInteger(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=True),
        _when("fetched_at"),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_fetches"),
    )
    op.create_index("ix_exchange_fetches_case_number", "exchange_fetches", ["case_number"])
    op.create_table(
        "exchange_provider_records",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("resource_code", sa.String(40), nullable=False),
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_provider_records"),
        sa.UniqueConstraint(
            "resource_code",
            "subject_hash",
            name="uq_exchange_provider_records_resource_code_subject_hash",
        ),
    )
    op.create_table(
        "exchange_nodes",
        sa.Column("node_id", sa.String(40), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("base_url", sa.String(300), nullable=False),
        sa.Column("public_keys", sa.JSON(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("node_id", name="pk_exchange_nodes"),
    )
    op.create_table(
        "exchange_messages",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("client", sa.String(120), nullable=False),
        sa.Column("service", sa.String(120), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("issue", sa.String(40), nullable=True),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("response_sha256", sa.String(64), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        _when("logged_at"),
        sa.PrimaryKeyConstraint("id", name="pk_exchange_messages"),
        sa.UniqueConstraint(
            "direction",
            "client",
            "message_id",
            name="uq_exchange_messages_direction_client_message_id",
        ),
    )


def downgrade() -> None:
    for table in (
        "exchange_messages",
        "exchange_nodes",
        "exchange_provider_records",
        "exchange_fetches",
        "exchange_agreements",
        "exchange_requests",
        "exchange_resources",
    ):
        op.drop_table(table)
