"""reviews: 好差评 ratings and rectifications of bad reviews

Revision ID: 0008_reviews
Revises: 0007_cases
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_reviews"
down_revision = "0007_cases"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("case_number", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("round", sa.SmallInteger(), nullable=False),
        sa.Column("rerate_of_id", BigId, nullable=True),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("service_point", sa.String(12), nullable=True),
        sa.Column("item_code", sa.String(40), nullable=True),
        sa.Column("rater_id", sa.BigInteger(), nullable=True),
        sa.Column("recorded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("overall", sa.SmallInteger(), nullable=False),
        sa.Column("efficiency", sa.SmallInteger(), nullable=False),
        sa.Column("guide_accuracy", sa.SmallInteger(), nullable=True),
        sa.Column("convenience", sa.SmallInteger(), nullable=True),
        sa.Column("usability", sa.SmallInteger(), nullable=True),
        sa.Column("service_level", sa.SmallInteger(), nullable=True),
        sa.Column("attitude", sa.SmallInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("bad", sa.Boolean(), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        _ts("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["rerate_of_id"], ["reviews.id"], name=op.f("fk_reviews_rerate_of_id_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint(
            "case_number", "channel", "round", name=op.f("uq_reviews_case_number_channel_round")
        ),
    )
    op.create_index(op.f("ix_reviews_department_id"), "reviews", ["department_id"])
    op.create_index(op.f("ix_reviews_rater_id"), "reviews", ["rater_id"])
    op.create_index("ix_reviews_region", "reviews", ["region_code", "created_at"])

    op.create_table(
        "rectifications",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("review_id", BigId, nullable=False),
        sa.Column("case_number", sa.String(40), nullable=False),
        sa.Column("department_id", sa.BigInteger(), nullable=True),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        _ts("opened_at", nullable=False),
        _ts("followed_up_at"),
        sa.Column("follow_up_note", sa.Text(), nullable=True),
        _ts("fixed_at"),
        sa.Column("fix_description", sa.Text(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("rerate_review_id", BigId, nullable=True),
        _ts("closed_at"),
        sa.Column("appeal_reason", sa.Text(), nullable=True),
        sa.Column("appeal_ground", sa.String(16), nullable=True),
        _ts("appealed_at"),
        sa.Column("resume_state", sa.String(16), nullable=True),
        sa.Column("appeal_decision", sa.String(16), nullable=True),
        sa.Column("appeal_decision_note", sa.Text(), nullable=True),
        sa.Column("appeal_decided_by_id", sa.BigInteger(), nullable=True),
        _ts("appeal_decided_at"),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_rectifications_review_id_reviews")
        ),
        sa.ForeignKeyConstraint(
            ["rerate_review_id"],
            ["reviews.id"],
            name=op.f("fk_rectifications_rerate_review_id_reviews"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectifications")),
        sa.UniqueConstraint("review_id", name=op.f("uq_rectifications_review_id")),
    )
    op.create_index(op.f("ix_rectifications_department_id"), "rectifications", ["department_id"])
    op.create_index("ix_rectifications_open", "rectifications", ["state", "due_date"])


def downgrade() -> None:
    op.drop_index("ix_rectifications_open", table_name="rectifications")
    op.drop_index(op.f("ix_rectifications_department_id"), table_name="rectifications")
    op.drop_table("rectifications")
    op.drop_index("ix_reviews_region", table_name="reviews")
    op.drop_index(op.f("ix_reviews_rater_id"), table_name="reviews")
    op.drop_index(op.f("ix_reviews_department_id"), table_name="reviews")
    op.drop_table("reviews")
