"""blocking: name keys of every word and of the full name, word frequencies; backfilled from the records

Revision ID: blocking_0001
Revises: (new branch; needs central_0001)
"""
from alembic import op
import sqlalchemy as sa


revision = "blocking_0001"
down_revision = None
branch_labels = ("blocking",)
depends_on = "central_0001"


def upgrade() -> None:
    op.create_table(
        "central_name_blocks",
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.Column("block_key", sa.String(length=40), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["central_records.id"], ondelete="CASCADE",
                                name=op.f("fk_central_name_blocks_record_id_central_records")),
        sa.PrimaryKeyConstraint("record_id", "block_key", name=op.f("pk_central_name_blocks")),
    )
    op.create_index("ix_central_name_blocks_key_year", "central_name_blocks", ["block_key", "birth_year"])
    op.create_table(
        "central_name_word_counts",
        sa.Column("word_key", sa.String(length=16), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word_key", name=op.f("pk_central_name_word_counts")),
    )
    # backfill: names are encrypted, so the keys are computed here, through the ORM (the field cipher
    # is configured by open_database before it migrates)
    from sqlalchemy.orm import Session

    from ktpel.central.dedup.blocking import backfill

    with Session(bind=op.get_bind()) as session:
        backfill(session)
        session.commit()  # joins the migration's transaction (a savepoint at most): commits with it


def downgrade() -> None:
    op.drop_table("central_name_word_counts")
    op.drop_index("ix_central_name_blocks_key_year", table_name="central_name_blocks")
    op.drop_table("central_name_blocks")
