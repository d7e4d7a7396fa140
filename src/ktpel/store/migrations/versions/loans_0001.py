"""loans: blank loans between regencies of one province

Revision ID: loans_0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = 'loans_0001'
down_revision = None
branch_labels = ('loans',)
depends_on = '0001_core'


def upgrade() -> None:
    op.create_table('blank_loans',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('lender_code', sa.String(length=5), nullable=False),
    sa.Column('borrower_code', sa.String(length=5), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('serials', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('accepted_by', sa.String(length=60), nullable=False),
    sa.Column('accepted_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('shipped_packet_id', sa.String(length=80), nullable=True),
    sa.Column('shipped_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blank_loans'))
    )
    with op.batch_alter_table('blank_loans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blank_loans_borrower_code'), ['borrower_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_blank_loans_lender_code'), ['lender_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_blank_loans_state'), ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('blank_loans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blank_loans_state'))
        batch_op.drop_index(batch_op.f('ix_blank_loans_lender_code'))
        batch_op.drop_index(batch_op.f('ix_blank_loans_borrower_code'))

    op.drop_table('blank_loans')
