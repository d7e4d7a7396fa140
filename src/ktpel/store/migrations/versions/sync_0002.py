"""sync hardening: one-time enrolment tokens and offices' signed audit checkpoints (central)

Revision ID: sync_0002
Revises: sync_0001
"""
from alembic import op
import sqlalchemy as sa
import ktpel.store.types


revision = "sync_0002"
down_revision = "sync_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_enrolment_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("regency_code", sa.String(length=5), nullable=False),
        sa.Column("issued_by", sa.String(length=60), nullable=False),
        sa.Column("issued_at", ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", ktpel.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("used_by_kid", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_enrolment_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sync_enrolment_tokens_token_hash")),
    )
    with op.batch_alter_table("sync_enrolment_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_enrolment_tokens_regency_code"), ["regency_code"], unique=False)
    op.create_table(
        "sync_audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_code", sa.String(length=5), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("kid", sa.String(length=32), nullable=False),
        sa.Column("sig", sa.Text(), nullable=False),
        sa.Column("received_at", ktpel.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_audit_checkpoints")),
    )
    with op.batch_alter_table("sync_audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_audit_checkpoints_office_code"), ["office_code"], unique=False)


def downgrade() -> None:
    op.drop_table("sync_audit_checkpoints")
    op.drop_table("sync_enrolment_tokens")
