"""kit: packets received from mobile recording kits

Revision ID: kit_0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = 'kit_0001'
down_revision = None
branch_labels = ('kit',)
depends_on = '0001_core'


def upgrade() -> None:
    op.create_table('kit_receipts',
    sa.Column('kit_packet_id', sa.String(length=80), nullable=False),
    sa.Column('kit_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('home_packet_id', sa.String(length=80), nullable=False),
    sa.Column('received_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kit_packet_id', name=op.f('pk_kit_receipts'))
    )
    with op.batch_alter_table('kit_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kit_receipts_kit_id'), ['kit_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('kit_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kit_receipts_kit_id'))

    op.drop_table('kit_receipts')
