"""notify: delivery reports from the provider (delivered / read / failed after acceptance)

Revision ID: notify_0003
Revises: notify_0002
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = "notify_0003"
down_revision = "notify_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notify_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("delivery_at", ktpel.store.types.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notify_messages", schema=None) as batch_op:
        batch_op.drop_column("delivery_at")
        batch_op.drop_column("delivery")
