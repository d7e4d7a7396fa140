"""notify tables: outbox, templates, call-back and call lists, public lookups, revocations

Revision ID: notify_0001
Revises:
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = "notify_0001"
down_revision = None
branch_labels = ("notify",)
depends_on = "0001_core"


def upgrade() -> None:

    op.create_table('notify_revocations',
    sa.Column('card_id', sa.String(length=40), nullable=False),
    sa.Column('nik', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('revoked_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('card_id', name=op.f('pk_notify_revocations'))
    )
    with op.batch_alter_table('notify_revocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_revocations_nik'), ['nik'], unique=False)

    op.create_table('notify_status_lookups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nik_hash', sa.String(length=64), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('found', sa.Boolean(), nullable=False),
    sa.Column('limited', sa.Boolean(), nullable=False),
    sa.Column('at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_status_lookups'))
    )
    with op.batch_alter_table('notify_status_lookups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_status_lookups_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_status_lookups_ip'), ['ip'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_status_lookups_nik_hash'), ['nik_hash'], unique=False)

    op.create_table('notify_templates',
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('body_id', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.Column('updated_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('trigger', name=op.f('pk_notify_templates'))
    )
    op.create_table('notify_call_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('dedupe_key', sa.String(length=64), nullable=False),
    sa.Column('message_id', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_notify_call_list_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_call_list')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notify_call_list_dedupe_key'))
    )
    with op.batch_alter_table('notify_call_list', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_call_list_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_call_list_state'), ['state'], unique=False)

    op.create_table('notify_turned_away',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('added_by', sa.String(length=60), nullable=False),
    sa.Column('added_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('notified_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('outage_id', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_notify_turned_away_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_turned_away'))
    )
    with op.batch_alter_table('notify_turned_away', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_turned_away_notified_at'), ['notified_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_turned_away_resident_id'), ['resident_id'], unique=False)

    op.create_table('notify_call_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('by', sa.String(length=60), nullable=False),
    sa.Column('at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['notify_call_list.id'], name=op.f('fk_notify_call_attempts_call_id_notify_call_list'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_call_attempts'))
    )
    with op.batch_alter_table('notify_call_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_call_attempts_call_id'), ['call_id'], unique=False)

    op.create_table('notify_messages',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('dedupe_key', sa.String(length=64), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('phone_id', sa.Integer(), nullable=True),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('recipient', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('body', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('variables', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('claim_token', sa.String(length=40), nullable=True),
    sa.Column('claimed_until', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('provider_id', sa.String(length=120), nullable=True),
    sa.Column('created_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['phone_id'], ['resident_phones.id'], name=op.f('fk_notify_messages_phone_id_resident_phones'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_notify_messages_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notify_messages_dedupe_key'))
    )
    with op.batch_alter_table('notify_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_messages_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_notify_messages_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_messages_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_messages_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_messages_trigger'), ['trigger'], unique=False)


def downgrade() -> None:


    with op.batch_alter_table('notify_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_messages_trigger'))
        batch_op.drop_index(batch_op.f('ix_notify_messages_state'))
        batch_op.drop_index(batch_op.f('ix_notify_messages_resident_id'))
        batch_op.drop_index('ix_notify_messages_due')
        batch_op.drop_index(batch_op.f('ix_notify_messages_created_at'))

    op.drop_table('notify_messages')
    with op.batch_alter_table('notify_call_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_call_attempts_call_id'))

    op.drop_table('notify_call_attempts')
    with op.batch_alter_table('notify_turned_away', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_turned_away_resident_id'))
        batch_op.drop_index(batch_op.f('ix_notify_turned_away_notified_at'))

    op.drop_table('notify_turned_away')
    with op.batch_alter_table('notify_call_list', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_call_list_state'))
        batch_op.drop_index(batch_op.f('ix_notify_call_list_resident_id'))

    op.drop_table('notify_call_list')
    op.drop_table('notify_templates')
    with op.batch_alter_table('notify_status_lookups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_status_lookups_nik_hash'))
        batch_op.drop_index(batch_op.f('ix_notify_status_lookups_ip'))
        batch_op.drop_index(batch_op.f('ix_notify_status_lookups_at'))

    op.drop_table('notify_status_lookups')
    with op.batch_alter_table('notify_revocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_revocations_nik'))

    op.drop_table('notify_revocations')
