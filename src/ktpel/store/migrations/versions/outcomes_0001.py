"""outcomes: central outcome code per enrollment (office)

Revision ID: outcomes_0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = 'outcomes_0001'
down_revision = None
branch_labels = ('outcomes',)
depends_on = '0001_core'


def upgrade() -> None:
    op.create_table('enrollment_outcomes',
    sa.Column('enrollment_id', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('enrollment_id', name=op.f('pk_enrollment_outcomes'))
    )
    with op.batch_alter_table('enrollment_outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrollment_outcomes_code'), ['code'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('enrollment_outcomes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrollment_outcomes_code'))

    op.drop_table('enrollment_outcomes')
