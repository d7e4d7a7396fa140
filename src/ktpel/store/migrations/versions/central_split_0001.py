"""Central's database keeps only its own and the shared tables: the office's are dropped (when empty).

Until this revision both sides' databases got every table. A later central-only migration depends on this
one (`depends_on = "central_split_0001"`) so that an office's database never runs it (ktpel.store.db.upgrade).
"""

from alembic import op

from ktpel.store.sides import drop_other_side_tables

revision = "central_split_0001"
down_revision = "sides_0001"
branch_labels = ("central_side",)
depends_on = None

# the office's tables as of this revision, children before the tables they reference
OFFICE_TABLES = [
    "print_queue", "print_jobs", "pickup_checks", "notify_messages", "notify_call_attempts",
    "enrollment_submissions", "enrollment_captures", "enrollment_approvals", "cards", "suket", "resident_phones",
    "resident_name_tokens", "notify_turned_away", "notify_call_list", "ikd_activations", "enrollments", "blanks",
    "sync_outbox", "sync_outages", "sync_office_announcements", "sync_link", "residents", "printing_settings",
    "office_duplicate_cases", "notify_templates", "notify_status_lookups", "notify_revocations", "kit_receipts",
    "enrollment_outcomes", "blank_movements", "blank_batches",
]


def upgrade() -> None:
    drop_other_side_tables(op.get_bind(), side="central", tables=OFFICE_TABLES)


def downgrade() -> None:
    raise NotImplementedError("the office's tables are not recreated in central's database")
