"""suket: temporary certificates, office register and central log

Revision ID: suket_0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = 'suket_0001'
down_revision = None
branch_labels = ('suket',)
depends_on = '0001_core'


def upgrade() -> None:
    op.create_table('central_suket',
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('office_code', sa.String(length=5), nullable=False),
    sa.Column('nik', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('status_code', sa.String(length=4), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('officer', sa.String(length=60), nullable=False),
    sa.Column('last_action', sa.String(length=12), nullable=False),
    sa.Column('last_packet_id', sa.String(length=80), nullable=False),
    sa.Column('updated_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('serial', name=op.f('pk_central_suket'))
    )
    with op.batch_alter_table('central_suket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_central_suket_nik'), ['nik'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_suket_office_code'), ['office_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_suket_state'), ['state'], unique=False)

    op.create_table('suket',
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('active_resident_id', sa.Integer(), nullable=True),
    sa.Column('nik', sa.String(length=16), nullable=False),
    sa.Column('enrollment_id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('status_code', sa.String(length=4), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('renewals', sa.Integer(), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('issued_by', sa.String(length=60), nullable=False),
    sa.Column('issued_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('closed_by', sa.String(length=60), nullable=True),
    sa.Column('closed_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sa.Text(), nullable=True),
    sa.Column('card_id', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_suket_resident_id_residents')),
    sa.PrimaryKeyConstraint('serial', name=op.f('pk_suket')),
    sa.UniqueConstraint('active_resident_id', name=op.f('uq_suket_active_resident_id'))
    )
    with op.batch_alter_table('suket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suket_issued_at'), ['issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_suket_nik'), ['nik'], unique=False)
        batch_op.create_index(batch_op.f('ix_suket_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_suket_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_suket_valid_until'), ['valid_until'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('suket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suket_valid_until'))
        batch_op.drop_index(batch_op.f('ix_suket_state'))
        batch_op.drop_index(batch_op.f('ix_suket_resident_id'))
        batch_op.drop_index(batch_op.f('ix_suket_nik'))
        batch_op.drop_index(batch_op.f('ix_suket_issued_at'))

    op.drop_table('suket')
    with op.batch_alter_table('central_suket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_central_suket_state'))
        batch_op.drop_index(batch_op.f('ix_central_suket_office_code'))
        batch_op.drop_index(batch_op.f('ix_central_suket_nik'))

    op.drop_table('central_suket')
