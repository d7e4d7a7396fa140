"""Every branch so far, merged: the point where the office's and central's databases part ways.

Until here both sides' databases got every table. `office_split_0001` and `central_split_0001` start from
this merge and drop the other side's tables; a database serving both sides stays here
(ktpel.store.db.upgrade).
"""

revision = "sides_0001"
down_revision = (
    "blocking_0001", "central_0002", "enrollment_0001", "ikd_0001", "kit_0001", "loans_0001",
    "notify_0003", "outcomes_0001", "printing_0001", "privacy_0001", "reports_0001", "security_0001",
    "suket_0001", "sync_0002",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
