"""ikd: central's register of digital IDs activated per office (blanks saved)

Revision ID: ikd_0002
Revises: ikd_0001
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types
from ktpel.store.sides import migration_holds


revision = 'ikd_0002'
down_revision = 'ikd_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not migration_holds("central_ikd"):  # central's table: an office's database never has it
        return
    op.create_table('central_ikd',
    sa.Column('activation_id', sa.String(length=40), nullable=False),
    sa.Column('office_code', sa.String(length=5), nullable=False),
    sa.Column('nik', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('saves_blank', sa.Boolean(), nullable=False),
    sa.Column('officer', sa.String(length=60), nullable=False),
    sa.Column('activated_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_packet_id', sa.String(length=80), nullable=False),
    sa.Column('updated_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('activation_id', name=op.f('pk_central_ikd'))
    )
    with op.batch_alter_table('central_ikd', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_central_ikd_activated_at'), ['activated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_ikd_nik'), ['nik'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_ikd_office_code'), ['office_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_ikd_state'), ['state'], unique=False)


def downgrade() -> None:
    if not migration_holds("central_ikd"):
        return
    with op.batch_alter_table('central_ikd', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_central_ikd_state'))
        batch_op.drop_index(batch_op.f('ix_central_ikd_office_code'))
        batch_op.drop_index(batch_op.f('ix_central_ikd_nik'))
        batch_op.drop_index(batch_op.f('ix_central_ikd_activated_at'))
    op.drop_table('central_ikd')
