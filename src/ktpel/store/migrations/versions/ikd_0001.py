"""ikd: digital ID activations at the counter

Revision ID: ikd_0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = 'ikd_0001'
down_revision = None
branch_labels = ('ikd',)
depends_on = '0001_core'


def upgrade() -> None:
    op.create_table('ikd_activations',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.String(length=40), nullable=False),
    sa.Column('office_code', sa.String(length=5), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('phone', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('email', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.Column('selfie_score', sa.Float(), nullable=True),
    sa.Column('selfie_attempts', sa.Integer(), nullable=False),
    sa.Column('qr_nonce', sa.String(length=40), nullable=True),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('code_expires_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('code_used_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('code_attempts', sa.Integer(), nullable=False),
    sa.Column('token', sa.Text(), nullable=True),
    sa.Column('saves_blank', sa.Boolean(), nullable=False),
    sa.Column('officer', sa.String(length=60), nullable=False),
    sa.Column('created_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('activated_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_ikd_activations_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ikd_activations')),
    sa.UniqueConstraint('qr_nonce', name=op.f('uq_ikd_activations_qr_nonce'))
    )
    with op.batch_alter_table('ikd_activations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ikd_activations_activated_at'), ['activated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ikd_activations_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ikd_activations_office_code'), ['office_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_ikd_activations_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ikd_activations_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ikd_activations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ikd_activations_state'))
        batch_op.drop_index(batch_op.f('ix_ikd_activations_resident_id'))
        batch_op.drop_index(batch_op.f('ix_ikd_activations_office_code'))
        batch_op.drop_index(batch_op.f('ix_ikd_activations_created_at'))
        batch_op.drop_index(batch_op.f('ix_ikd_activations_activated_at'))

    op.drop_table('ikd_activations')
