"""recording (perekaman): captures, submissions, approvals

Revision ID: enrollment_0001
Revises:
Create Date: 2026-11-29 03:30:00
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = "enrollment_0001"
down_revision = None
branch_labels = ("enrollment",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "enrollment_captures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("image", ktpel.store.types.EncryptedBytes(), nullable=False),
        sa.Column("template", ktpel.store.types.EncryptedBytes(), nullable=True),
        sa.Column("quality_score", sa.Float(), nullable=True),
        sa.Column("quality_ok", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["enrollment_id"], ["enrollments.id"], ondelete="CASCADE",
                                name=op.f("fk_enrollment_captures_enrollment_id_enrollments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_captures")),
        sa.UniqueConstraint("enrollment_id", "kind", name="uq_enrollment_captures_kind"),
    )
    op.create_index(op.f("ix_enrollment_captures_enrollment_id"), "enrollment_captures", ["enrollment_id"])
    op.create_table(
        "enrollment_submissions",
        sa.Column("form_token", sa.String(length=64), nullable=False),
        sa.Column("enrollment_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["enrollment_id"], ["enrollments.id"], ondelete="CASCADE",
                                name=op.f("fk_enrollment_submissions_enrollment_id_enrollments")),
        sa.PrimaryKeyConstraint("form_token", name=op.f("pk_enrollment_submissions")),
    )
    op.create_table(
        "enrollment_approvals",
        sa.Column("enrollment_id", sa.String(length=40), nullable=False),
        sa.Column("reasons", sa.String(length=400), nullable=False),
        sa.Column("approved_by", sa.String(length=60), nullable=True),
        sa.Column("approved_at", ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["enrollment_id"], ["enrollments.id"], ondelete="CASCADE",
                                name=op.f("fk_enrollment_approvals_enrollment_id_enrollments")),
        sa.PrimaryKeyConstraint("enrollment_id", name=op.f("pk_enrollment_approvals")),
    )


def downgrade() -> None:
    op.drop_table("enrollment_approvals")
    op.drop_table("enrollment_submissions")
    op.drop_index(op.f("ix_enrollment_captures_enrollment_id"), table_name="enrollment_captures")
    op.drop_table("enrollment_captures")
