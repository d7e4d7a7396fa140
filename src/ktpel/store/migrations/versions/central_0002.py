"""central: stored demographic dedup models (one training shared by every worker)

Revision ID: central_0002
Revises: central_0001
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = "central_0002"
down_revision = "central_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "central_dedup_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("trained_at", ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("trained_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_central_dedup_models")),
    )


def downgrade() -> None:
    op.drop_table("central_dedup_models")
