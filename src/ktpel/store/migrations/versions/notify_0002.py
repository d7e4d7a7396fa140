"""notify: the call list keeps the message variables, not a text (column renamed to say so)

Revision ID: notify_0002
Revises: notify_0001
"""
from alembic import op


revision = "notify_0002"
down_revision = "notify_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notify_call_list", schema=None) as batch_op:
        batch_op.alter_column("message_id", new_column_name="variables")


def downgrade() -> None:
    with op.batch_alter_table("notify_call_list", schema=None) as batch_op:
        batch_op.alter_column("variables", new_column_name="message_id")
