"""The office's database keeps only its own and the shared tables: central's are dropped (when empty).

Until this revision both sides' databases got every table. A later office-only migration depends on this
one (`depends_on = "office_split_0001"`) so that central's database never runs it (ktpel.store.db.upgrade).
"""

from alembic import op

from ktpel.store.sides import drop_other_side_tables

revision = "office_split_0001"
down_revision = "sides_0001"
branch_labels = ("office_side",)
depends_on = None

# central's tables as of this revision, children before the tables they reference
CENTRAL_TABLES = [
    "central_stage_runs", "central_name_blocks", "central_duplicate_cases", "central_adjudications",
    "sync_rejections", "sync_offices", "sync_event_counters", "sync_enrolment_tokens", "sync_audit_checkpoints",
    "sync_announcements", "printed_reports", "central_suket", "central_retired_niks", "central_records",
    "central_packets", "central_name_word_counts", "central_jobs", "central_events", "central_dedup_models",
    "central_counters", "blank_loans", "blank_allocations",
]


def upgrade() -> None:
    drop_other_side_tables(op.get_bind(), side="office", tables=CENTRAL_TABLES)


def downgrade() -> None:
    raise NotImplementedError("central's tables are not recreated in an office database")
