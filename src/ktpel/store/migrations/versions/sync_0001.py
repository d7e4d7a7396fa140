"""sync tables: outbox, link, outages, announcements (office); packets, events, offices, rejections (central)

Revision ID: sync_0001
Revises:
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = "sync_0001"
down_revision = None
branch_labels = ("sync",)
depends_on = "0001_core"

TABLES = ["sync_rejections", "sync_outbox", "sync_outages", "sync_offices", "sync_office_announcements",
          "sync_link", "sync_event_counters", "sync_announcements", "central_packets", "central_events"]


def upgrade() -> None:
    op.create_table('central_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_code', sa.String(length=5), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('data', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('created_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_central_events')),
    sa.UniqueConstraint('office_code', 'seq', name='uq_central_events_office_seq')
    )
    with op.batch_alter_table('central_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_central_events_office_code'), ['office_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_events_subject_id'), ['subject_id'], unique=False)

    op.create_table('central_packets',
    sa.Column('packet_id', sa.String(length=64), nullable=False),
    sa.Column('office_code', sa.String(length=5), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('payload', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('created_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('received_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('receipt', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('packet_id', name=op.f('pk_central_packets'))
    )
    with op.batch_alter_table('central_packets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_central_packets_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_packets_office_code'), ['office_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_packets_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_packets_subject_id'), ['subject_id'], unique=False)

    op.create_table('sync_announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('starts_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.Text(), nullable=False),
    sa.Column('message_en', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_announcements'))
    )
    op.create_table('sync_event_counters',
    sa.Column('office_code', sa.String(length=5), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('office_code', name=op.f('pk_sync_event_counters'))
    )
    op.create_table('sync_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reachable', sa.Boolean(), nullable=False),
    sa.Column('since', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_success', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_attempt', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('event_cursor', sa.Integer(), nullable=False),
    sa.Column('current_outage_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_link'))
    )
    op.create_table('sync_office_announcements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('starts_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.Text(), nullable=False),
    sa.Column('message_en', sa.Text(), nullable=False),
    sa.Column('received_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_office_announcements'))
    )
    op.create_table('sync_offices',
    sa.Column('office_code', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('keys', sa.JSON(), nullable=False),
    sa.Column('registered_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('office_code', name=op.f('pk_sync_offices'))
    )
    op.create_table('sync_outages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('queued_at_start', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_outages'))
    )
    with op.batch_alter_table('sync_outages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_outages_started_at'), ['started_at'], unique=False)

    op.create_table('sync_outbox',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('packet_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('content', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('receipt', sa.Text(), nullable=True),
    sa.Column('created_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_sync_outbox')),
    sa.UniqueConstraint('packet_id', name=op.f('uq_sync_outbox_packet_id'))
    )
    with op.batch_alter_table('sync_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_outbox_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_outbox_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_outbox_subject_id'), ['subject_id'], unique=False)

    op.create_table('sync_rejections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('office_code', sa.String(length=40), nullable=False),
    sa.Column('packet_id', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('remote', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_rejections'))
    )
    with op.batch_alter_table('sync_rejections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_rejections_at'), ['at'], unique=False)



def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
