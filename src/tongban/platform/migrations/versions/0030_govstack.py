"""GovStack clients and sample state (issue #21)

Revision ID: 0030_govstack
Revises: 0029_guard
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030_govstack"
down_revision = "0029_guard"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _id() -> sa.Column:
    return sa.Column("id", BigId, autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "govstack_clients",
        _id(),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=False),
        sa.Column("handler_id", sa.BigInteger(), nullable=False),
        sa.Column("desk_id", sa.BigInteger(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_govstack_clients"),
        sa.UniqueConstraint("client", name="uq_govstack_clients_client"),
    )
    op.create_index("ix_govstack_clients_department_id", "govstack_clients", ["department_id"])
    op.create_table(
        "govstack_services",
        _id(),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("implementation_code", sa.String(80), nullable=False),
        sa.Column("eform_id", sa.String(100), nullable=False),
        sa.Column("registration_name", sa.String(64), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_govstack_services"),
        sa.UniqueConstraint("service_id", name="uq_govstack_services_service_id"),
        sa.UniqueConstraint("implementation_code", name="uq_govstack_services_implementation_code"),
        sa.UniqueConstraint("eform_id", name="uq_govstack_services_eform_id"),
        sa.UniqueConstraint("registration_name", name="uq_govstack_services_registration_name"),
    )
    op.create_table(
        "govstack_applicants",
        _id(),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("applicant_ref", sa.String(200), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_govstack_applicants"),
        sa.UniqueConstraint(
            "client_id", "applicant_ref", name="uq_govstack_applicants_client_id_applicant_ref"
        ),
    )
    op.create_table(
        "govstack_applications",
        _id(),
        sa.Column("file_id", sa.String(100), nullable=False),
        sa.Column("case_number", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("applicant_ref", sa.String(200), nullable=False),
        sa.Column("submitted", sa.JSON(), nullable=False),
        sa.Column("document_urls", sa.JSON(), nullable=False),
        _when("registered_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_govstack_applications"),
        sa.UniqueConstraint("file_id", name="uq_govstack_applications_file_id"),
        sa.UniqueConstraint("case_number", name="uq_govstack_applications_case_number"),
    )
    op.create_index("ix_govstack_applications_service_id", "govstack_applications", ["service_id"])
    op.create_index(
        "ix_govstack_applications_applicant_ref", "govstack_applications", ["applicant_ref"]
    )
    op.create_table(
        "govstack_task_ids",
        _id(),
        sa.Column("task_id", sa.String(100), nullable=False),
        sa.Column("case_number", sa.String(64), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_govstack_task_ids"),
        sa.UniqueConstraint("task_id", name="uq_govstack_task_ids_task_id"),
    )
    op.create_index(
        "ix_govstack_task_ids_case_number", "govstack_task_ids", ["case_number", "step"]
    )
    op.create_table(
        "govstack_documents",
        _id(),
        sa.Column("document_id", sa.String(40), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("material", sa.String(200), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_govstack_documents"),
        sa.UniqueConstraint("document_id", name="uq_govstack_documents_document_id"),
    )


def downgrade() -> None:
    op.drop_table("govstack_documents")
    op.drop_index("ix_govstack_task_ids_case_number", table_name="govstack_task_ids")
    op.drop_table("govstack_task_ids")
    op.drop_index("ix_govstack_applications_applicant_ref", table_name="govstack_applications")
    op.drop_index("ix_govstack_applications_service_id", table_name="govstack_applications")
    op.drop_table("govstack_applications")
    op.drop_table("govstack_applicants")
    op.drop_table("govstack_services")
    op.drop_index("ix_govstack_clients_department_id", table_name="govstack_clients")
    op.drop_table("govstack_clients")
