"""central: a record's count of thumbs too poor for the national search (`central_records.short_thumbs`)

Set by the pipeline's quality stage from the templates it already parses. Records stored before this
revision keep NULL (not counted): counting them needs their templates decrypted and parsed, which
`ktpel central abis-thumbs` does once, a batch at a time, and writes back; after that the list of
residents to call back is an indexed query. Central's table only (ktpel.store.sides.migration_holds).

Revision ID: central_0003
Revises: central_0002
"""
from alembic import op
import sqlalchemy as sa

from ktpel.store.sides import migration_holds


revision = "central_0003"
down_revision = "central_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not migration_holds("central_records"):
        return
    with op.batch_alter_table("central_records") as batch_op:
        batch_op.add_column(sa.Column("short_thumbs", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_central_records_short_thumbs"), ["short_thumbs"], unique=False)


def downgrade() -> None:
    if not migration_holds("central_records"):
        return
    with op.batch_alter_table("central_records") as batch_op:
        batch_op.drop_index(batch_op.f("ix_central_records_short_thumbs"))
        batch_op.drop_column("short_thumbs")
