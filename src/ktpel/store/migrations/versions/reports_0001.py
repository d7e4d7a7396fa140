"""reports: cache of figures for days and weeks that are over

Revision ID: reports_0001
Revises:
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = "reports_0001"
down_revision = None
branch_labels = ("reports",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "report_cache",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("computed_at", ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_report_cache")),
    )
    # turnaround per week reads cards by hand-over time; without this a year of cards is scanned per week
    op.create_index("ix_reports_cards_issued_at", "cards", ["issued_at"])


def downgrade() -> None:
    op.drop_index("ix_reports_cards_issued_at", table_name="cards")
    op.drop_table("report_cache")
