"""central pipeline, adjudication and data-ganda tables

Revision ID: central_0001
Revises:
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = "central_0001"
down_revision = None
branch_labels = ("central",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table('central_counters',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_central_counters'))
    )
    op.create_table('central_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('packet_id', sa.String(length=80), nullable=False),
    sa.Column('record_id', sa.String(length=40), nullable=False),
    sa.Column('office_code', sa.String(length=8), nullable=False),
    sa.Column('payload', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.String(length=80), nullable=True),
    sa.Column('lease_until', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('next_run_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('enqueued_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_central_jobs')),
    sa.UniqueConstraint('packet_id', name=op.f('uq_central_jobs_packet_id'))
    )
    with op.batch_alter_table('central_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_central_jobs_claim', ['status', 'next_run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_jobs_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_jobs_stage'), ['stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_jobs_status'), ['status'], unique=False)

    op.create_table('central_records',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('packet_id', sa.String(length=80), nullable=False),
    sa.Column('office_code', sa.String(length=8), nullable=False),
    sa.Column('receipt_number', sa.String(length=40), nullable=False),
    sa.Column('nik', sa.String(length=16), nullable=False),
    sa.Column('kk_number', sa.String(length=16), nullable=False),
    sa.Column('name', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('birth_place', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('blood_type', sa.String(length=2), nullable=False),
    sa.Column('street', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('rt', sa.String(length=3), nullable=False),
    sa.Column('rw', sa.String(length=3), nullable=False),
    sa.Column('village_code', sa.String(length=13), nullable=False),
    sa.Column('religion', sa.String(length=40), nullable=False),
    sa.Column('marital_status', sa.String(length=20), nullable=False),
    sa.Column('occupation', sa.String(length=60), nullable=False),
    sa.Column('citizenship', sa.String(length=3), nullable=False),
    sa.Column('father_name', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('mother_name', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('name_key', sa.String(length=16), nullable=False),
    sa.Column('templates', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('images', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('exceptions', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('gallery_seq', sa.Integer(), nullable=True),
    sa.Column('card_id', sa.String(length=40), nullable=True),
    sa.Column('captured_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('received_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_central_records')),
    sa.UniqueConstraint('gallery_seq', name=op.f('uq_central_records_gallery_seq'))
    )
    with op.batch_alter_table('central_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_central_records_birth_date'), ['birth_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_records_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_records_nik'), ['nik'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_records_office_code'), ['office_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_records_packet_id'), ['packet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_records_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_records_state'), ['state'], unique=False)

    op.create_table('central_retired_niks',
    sa.Column('nik', sa.String(length=16), nullable=False),
    sa.Column('record_id', sa.String(length=40), nullable=False),
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('retired_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('nik', name=op.f('pk_central_retired_niks'))
    )
    op.create_table('office_duplicate_cases',
    sa.Column('case_id', sa.String(length=40), nullable=False),
    sa.Column('records', ktpel.store.types.EncryptedText(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('chosen_record_id', sa.String(length=40), nullable=True),
    sa.Column('chosen_by', sa.String(length=80), nullable=True),
    sa.Column('packet_id', sa.String(length=80), nullable=True),
    sa.Column('opened_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_office_duplicate_cases'))
    )
    with op.batch_alter_table('office_duplicate_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_duplicate_cases_status'), ['status'], unique=False)

    op.create_table('central_adjudications',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=40), nullable=False),
    sa.Column('candidate_id', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('band', sa.String(length=10), nullable=False),
    sa.Column('fused_z', sa.Float(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('demographic', sa.JSON(), nullable=False),
    sa.Column('urgency', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('first_decision', sa.String(length=10), nullable=True),
    sa.Column('first_by', sa.String(length=60), nullable=True),
    sa.Column('first_reason', sa.Text(), nullable=True),
    sa.Column('first_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('final_decision', sa.String(length=10), nullable=True),
    sa.Column('final_by', sa.String(length=60), nullable=True),
    sa.Column('final_reason', sa.Text(), nullable=True),
    sa.Column('decided_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['central_records.id'], name=op.f('fk_central_adjudications_candidate_id_central_records')),
    sa.ForeignKeyConstraint(['record_id'], ['central_records.id'], name=op.f('fk_central_adjudications_record_id_central_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_central_adjudications')),
    sa.UniqueConstraint('record_id', 'candidate_id', name='uq_central_adjudications_pair')
    )
    with op.batch_alter_table('central_adjudications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_central_adjudications_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_adjudications_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_adjudications_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_adjudications_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_adjudications_urgency'), ['urgency'], unique=False)

    op.create_table('central_duplicate_cases',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('record_a', sa.String(length=40), nullable=False),
    sa.Column('record_b', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('adjudication_id', sa.String(length=40), nullable=True),
    sa.Column('opened_by', sa.String(length=80), nullable=False),
    sa.Column('opened_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('kept_record_id', sa.String(length=40), nullable=True),
    sa.Column('revoked_record_id', sa.String(length=40), nullable=True),
    sa.Column('resolved_at_office', sa.String(length=8), nullable=True),
    sa.Column('resolved_by', sa.String(length=80), nullable=True),
    sa.Column('closed_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['record_a'], ['central_records.id'], name=op.f('fk_central_duplicate_cases_record_a_central_records')),
    sa.ForeignKeyConstraint(['record_b'], ['central_records.id'], name=op.f('fk_central_duplicate_cases_record_b_central_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_central_duplicate_cases'))
    )
    with op.batch_alter_table('central_duplicate_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_central_duplicate_cases_record_a'), ['record_a'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_duplicate_cases_record_b'), ['record_b'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_duplicate_cases_status'), ['status'], unique=False)

    op.create_table('central_stage_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('duration_ms', sa.Float(), nullable=False),
    sa.Column('worker_id', sa.String(length=80), nullable=False),
    sa.Column('finished_at', ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['central_jobs.id'], name=op.f('fk_central_stage_runs_job_id_central_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_central_stage_runs'))
    )
    with op.batch_alter_table('central_stage_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_central_stage_runs_finished_at'), ['finished_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_central_stage_runs_job_id'), ['job_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('central_stage_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_central_stage_runs_job_id'))
        batch_op.drop_index(batch_op.f('ix_central_stage_runs_finished_at'))

    op.drop_table('central_stage_runs')
    with op.batch_alter_table('central_duplicate_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_central_duplicate_cases_status'))
        batch_op.drop_index(batch_op.f('ix_central_duplicate_cases_record_b'))
        batch_op.drop_index(batch_op.f('ix_central_duplicate_cases_record_a'))

    op.drop_table('central_duplicate_cases')
    with op.batch_alter_table('central_adjudications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_central_adjudications_urgency'))
        batch_op.drop_index(batch_op.f('ix_central_adjudications_status'))
        batch_op.drop_index(batch_op.f('ix_central_adjudications_record_id'))
        batch_op.drop_index(batch_op.f('ix_central_adjudications_created_at'))
        batch_op.drop_index(batch_op.f('ix_central_adjudications_candidate_id'))

    op.drop_table('central_adjudications')
    with op.batch_alter_table('office_duplicate_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_office_duplicate_cases_status'))

    op.drop_table('office_duplicate_cases')
    op.drop_table('central_retired_niks')
    with op.batch_alter_table('central_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_central_records_state'))
        batch_op.drop_index(batch_op.f('ix_central_records_received_at'))
        batch_op.drop_index(batch_op.f('ix_central_records_packet_id'))
        batch_op.drop_index(batch_op.f('ix_central_records_office_code'))
        batch_op.drop_index(batch_op.f('ix_central_records_nik'))
        batch_op.drop_index(batch_op.f('ix_central_records_name_key'))
        batch_op.drop_index(batch_op.f('ix_central_records_birth_date'))

    op.drop_table('central_records')
    with op.batch_alter_table('central_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_central_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_central_jobs_stage'))
        batch_op.drop_index(batch_op.f('ix_central_jobs_record_id'))
        batch_op.drop_index('ix_central_jobs_claim')

    op.drop_table('central_jobs')
    op.drop_table('central_counters')

