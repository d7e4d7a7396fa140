"""printing: blank ledger, print queue, print jobs, pickup checks, settings; central allocation

Revision ID: printing_0001
Revises:
Create Date: 2026-11-29 03:40:00
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = "printing_0001"
down_revision = None
branch_labels = ("printing",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table('blank_allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.String(length=40), nullable=False),
    sa.Column('regency_code', sa.String(length=5), nullable=False),
    sa.Column('blanks', sa.Integer(), nullable=False),
    sa.Column('first_serial', sa.String(length=32), nullable=True),
    sa.Column('last_serial', sa.String(length=32), nullable=True),
    sa.Column('backlog', sa.Integer(), nullable=False),
    sa.Column('urgent', sa.Integer(), nullable=False),
    sa.Column('on_hand', sa.Integer(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blank_allocations'))
    )
    with op.batch_alter_table('blank_allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blank_allocations_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_blank_allocations_regency_code'), ['regency_code'], unique=False)

    op.create_table('blank_batches',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('first_serial', sa.String(length=32), nullable=False),
    sa.Column('last_serial', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('allocation_ref', sa.String(length=80), nullable=True),
    sa.Column('received_by', sa.String(length=60), nullable=False),
    sa.Column('received_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blank_batches')),
    sa.UniqueConstraint('allocation_ref', name=op.f('uq_blank_batches_allocation_ref'))
    )
    with op.batch_alter_table('blank_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blank_batches_received_at'), ['received_at'], unique=False)

    op.create_table('blank_movements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=12), nullable=True),
    sa.Column('to_state', sa.String(length=12), nullable=False),
    sa.Column('card_id', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blank_movements'))
    )
    with op.batch_alter_table('blank_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blank_movements_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_blank_movements_serial'), ['serial'], unique=False)

    op.create_table('printed_reports',
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('office_code', sa.String(length=5), nullable=False),
    sa.Column('card_id', sa.String(length=40), nullable=False),
    sa.Column('packet_id', sa.String(length=80), nullable=False),
    sa.Column('printed_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('offline', sa.Boolean(), nullable=False),
    sa.Column('received_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('serial', name=op.f('pk_printed_reports'))
    )
    with op.batch_alter_table('printed_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_printed_reports_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_printed_reports_office_code'), ['office_code'], unique=False)
        batch_op.create_index('ix_printed_reports_office_day', ['office_code', 'printed_at'], unique=False)

    op.create_table('printing_settings',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('changed_by', sa.String(length=60), nullable=False),
    sa.Column('changed_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_printing_settings'))
    )
    op.create_table('blanks',
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('batch_id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('card_id', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('reserved_for', sa.String(length=40), nullable=True),
    sa.Column('reserved_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('changed_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['blank_batches.id'], name=op.f('fk_blanks_batch_id_blank_batches')),
    sa.PrimaryKeyConstraint('serial', name=op.f('pk_blanks')),
    sa.UniqueConstraint('reserved_for', name=op.f('uq_blanks_reserved_for'))
    )
    with op.batch_alter_table('blanks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blanks_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_blanks_state'), ['state'], unique=False)

    op.create_table('pickup_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.String(length=40), nullable=False),
    sa.Column('modality', sa.String(length=8), nullable=False),
    sa.Column('finger_position', sa.Integer(), nullable=True),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('matched', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('operator', sa.String(length=60), nullable=False),
    sa.Column('at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_pickup_checks_card_id_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pickup_checks'))
    )
    with op.batch_alter_table('pickup_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pickup_checks_card_id'), ['card_id'], unique=False)

    op.create_table('print_jobs',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('card_id', sa.String(length=40), nullable=False),
    sa.Column('blank_serial', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('driver', sa.String(length=12), nullable=False),
    sa.Column('destination', sa.Text(), nullable=False),
    sa.Column('operator', sa.String(length=60), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('offline', sa.Boolean(), nullable=False),
    sa.Column('report_packet_id', sa.String(length=80), nullable=True),
    sa.Column('created_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['blank_serial'], ['blanks.serial'], name=op.f('fk_print_jobs_blank_serial_blanks')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_print_jobs_card_id_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_jobs'))
    )
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_jobs_blank_serial'), ['blank_serial'], unique=False)
        batch_op.create_index(batch_op.f('ix_print_jobs_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_print_jobs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_print_jobs_state'), ['state'], unique=False)

    op.create_table('print_queue',
    sa.Column('card_id', sa.String(length=40), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('present', sa.Boolean(), nullable=False),
    sa.Column('via', sa.String(length=12), nullable=False),
    sa.Column('appointment_on', sa.Date(), nullable=True),
    sa.Column('classes', sa.JSON(), nullable=False),
    sa.Column('proof_notes', sa.JSON(), nullable=False),
    sa.Column('marked_by', sa.String(length=60), nullable=False),
    sa.Column('arrived_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('left_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_print_queue_card_id_cards')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_print_queue_resident_id_residents')),
    sa.PrimaryKeyConstraint('card_id', name=op.f('pk_print_queue'))
    )
    with op.batch_alter_table('print_queue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_queue_arrived_at'), ['arrived_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_print_queue_resident_id'), ['resident_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('print_queue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_queue_resident_id'))
        batch_op.drop_index(batch_op.f('ix_print_queue_arrived_at'))

    op.drop_table('print_queue')
    with op.batch_alter_table('print_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_jobs_state'))
        batch_op.drop_index(batch_op.f('ix_print_jobs_created_at'))
        batch_op.drop_index(batch_op.f('ix_print_jobs_card_id'))
        batch_op.drop_index(batch_op.f('ix_print_jobs_blank_serial'))

    op.drop_table('print_jobs')
    with op.batch_alter_table('pickup_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pickup_checks_card_id'))

    op.drop_table('pickup_checks')
    with op.batch_alter_table('blanks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blanks_state'))
        batch_op.drop_index(batch_op.f('ix_blanks_batch_id'))

    op.drop_table('blanks')
    op.drop_table('printing_settings')
    with op.batch_alter_table('printed_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_printed_reports_office_day')
        batch_op.drop_index(batch_op.f('ix_printed_reports_office_code'))
        batch_op.drop_index(batch_op.f('ix_printed_reports_card_id'))

    op.drop_table('printed_reports')
    with op.batch_alter_table('blank_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blank_movements_serial'))
        batch_op.drop_index(batch_op.f('ix_blank_movements_day'))

    op.drop_table('blank_movements')
    with op.batch_alter_table('blank_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blank_batches_received_at'))

    op.drop_table('blank_batches')
    with op.batch_alter_table('blank_allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blank_allocations_regency_code'))
        batch_op.drop_index(batch_op.f('ix_blank_allocations_plan_id'))

    op.drop_table('blank_allocations')
