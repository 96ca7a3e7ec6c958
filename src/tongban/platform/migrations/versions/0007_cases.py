"""cases: applications, materials, pauses, co-handling steps, uploads, messages

Revision ID: 0007_cases
Revises: 0006_workdays
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_cases"
down_revision = "0006_workdays"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("parent_id", BigId, nullable=True),
        sa.Column("bundle_code", sa.String(40), nullable=True),
        sa.Column("item_code", sa.String(40), nullable=True),
        sa.Column("item_name", sa.String(200), nullable=False),
        sa.Column("implementation_code", sa.String(80), nullable=True),
        sa.Column("case_type", sa.String(8), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        sa.Column("authority_code", sa.String(18), nullable=True),
        sa.Column("authority_name", sa.String(128), nullable=False),
        sa.Column("authority_region", sa.String(12), nullable=False),
        sa.Column("applicant_id", sa.BigInteger(), nullable=True),
        sa.Column("applicant_name", sa.String(100), nullable=False),
        sa.Column("applicant_id_masked", sa.String(18), nullable=True),
        sa.Column("filed_by_id", sa.BigInteger(), nullable=True),
        sa.Column("filed_by_role", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("service_point", sa.String(12), nullable=True),
        sa.Column("identity_confirmed", sa.Boolean(), nullable=False),
        sa.Column("form_data", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("acceptance_limit", sa.Integer(), nullable=False),
        sa.Column("promised_value", sa.Integer(), nullable=False),
        sa.Column("promised_unit", sa.String(16), nullable=False),
        sa.Column("statutory_value", sa.Integer(), nullable=False),
        sa.Column("statutory_unit", sa.String(16), nullable=False),
        _ts("received_at", nullable=False),
        _ts("accepted_at"),
        _ts("decided_at"),
        _ts("closed_at"),
        sa.Column("acceptance_due", sa.Date(), nullable=False),
        sa.Column("promised_due", sa.Date(), nullable=True),
        sa.Column("statutory_due", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("acceptance_paused_wd", sa.Integer(), nullable=False),
        sa.Column("acceptance_paused_nd", sa.Integer(), nullable=False),
        sa.Column("handling_paused_wd", sa.Integer(), nullable=False),
        sa.Column("handling_paused_nd", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("decision_text", sa.Text(), nullable=True),
        sa.Column("result_document", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=True),
        sa.Column("request_digest", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["cases.id"], name=op.f("fk_cases_parent_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
        sa.UniqueConstraint(
            "filed_by_id",
            "idempotency_key",
            name=op.f("uq_cases_filed_by_id_idempotency_key"),
        ),
    )
    op.create_index(op.f("ix_cases_parent_id"), "cases", ["parent_id"])
    op.create_index(op.f("ix_cases_applicant_id"), "cases", ["applicant_id"])
    op.create_index(op.f("ix_cases_filed_by_id"), "cases", ["filed_by_id"])
    op.create_index("ix_cases_queue", "cases", ["department_id", "due_date", "id"])
    op.create_index("ix_cases_region", "cases", ["authority_region", "state"])

    op.create_table(
        "case_materials",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("added_by_id", sa.BigInteger(), nullable=True),
        _ts("added_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_materials_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_materials")),
    )
    op.create_index(op.f("ix_case_materials_case_id"), "case_materials", ["case_id"])

    op.create_table(
        "case_pauses",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("resume_state", sa.String(24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("expected_end", sa.Date(), nullable=True),
        _ts("started_at", nullable=False),
        _ts("ended_at"),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.Column("natural_days", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_pauses_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_pauses")),
    )
    op.create_index(op.f("ix_case_pauses_case_id"), "case_pauses", ["case_id"])

    op.create_table(
        "case_steps",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("authority_code", sa.String(18), nullable=False),
        sa.Column("authority_name", sa.String(128), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        _ts("done_at"),
        sa.Column("done_by_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_steps_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_steps")),
    )
    op.create_index(op.f("ix_case_steps_case_id"), "case_steps", ["case_id"])
    op.create_index(op.f("ix_case_steps_department_id"), "case_steps", ["department_id"])

    op.create_table(
        "case_uploads",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_id", sa.BigInteger(), nullable=True),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_case_uploads")),
    )

    op.create_table(
        "case_messages",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("case_number", sa.String(40), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("read_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_messages")),
    )
    op.create_index("ix_case_messages_account", "case_messages", ["account_id", "id"])


def downgrade() -> None:
    op.drop_table("case_messages")
    op.drop_table("case_uploads")
    op.drop_table("case_steps")
    op.drop_table("case_pauses")
    op.drop_table("case_materials")
    op.drop_table("cases")
