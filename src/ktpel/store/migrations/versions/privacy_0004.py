"""privacy: encrypt the last reasons staff type, or that may name a personal detail

* `suket.close_reason`: the reason a manager types when revoking a Suket (free text);
* `notify_revocations.reason`: why central revoked a card; today "data ganda <case>: dipertahankan <NIK>"
  (another resident's NIK, tying the two records together), and any cause central sends (a death) lands here;
* `central_adjudications.first_reason`, `final_reason`: the adjudicator's free-text reason for a decision.

All become EncryptedText. Nothing filters, groups or orders by any of them in SQL (they are shown on one
item's page), so no blind index is needed. Existing rows are encrypted in place, a batch at a time, like
privacy_0003 (`ktpel.store.column_encryption`); downgrade restores the clear values. `suket` and
`notify_revocations` are the office's tables, `central_adjudications` central's: each side's database
migrates only the tables it holds (ktpel.store.sides.migration_holds).

The same reasons were also copied into the clear event log (`domain_events.data` of `suket.revoke`,
`ikd.revoke` and `card.revoke`); new events no longer carry them (`ktpel.store.repository.logged_data`), and
upgrade removes the `reason` key from the old ones. Reports only count those events. Downgrade does not put
the text back there: the Suket's and the card's reason are on their rows, the IKD's went to central.

Revision ID: privacy_0004
Revises: privacy_0003
"""
import json

from alembic import op
import sqlalchemy as sa

from ktpel.store.column_encryption import BATCH, TEXT, decrypt_columns, encrypt_columns


revision = "privacy_0004"
down_revision = "privacy_0003"
branch_labels = None
depends_on = ("central_0001",)

# table -> (primary key, {column: (kind, nullable)}); nullability as the capability's migration made it
TABLES = {
    "suket": ("serial", {"close_reason": (TEXT, True)}),
    "notify_revocations": ("card_id", {"reason": (TEXT, False)}),
    "central_adjudications": ("id", {"first_reason": (TEXT, True), "final_reason": (TEXT, True)}),
}
# events whose data held the typed reason (as of this revision; ktpel.store.repository.PRIVATE_FIELDS)
REASON_EVENTS = ("suket.revoke", "ikd.revoke", "card.revoke")


def _scrub_event_reasons() -> None:
    """Drop `reason` from the data of old revocation events, a batch of rows at a time."""
    conn = op.get_bind()
    events = sa.table("domain_events", sa.column("id"), sa.column("name"), sa.column("data", sa.JSON()))
    last = 0
    while True:
        rows = conn.execute(sa.select(events.c.id, events.c.data)
                            .where(events.c.name.in_(REASON_EVENTS), events.c.id > last)
                            .order_by(events.c.id).limit(BATCH)).all()
        if not rows:
            return
        for id_, data in rows:
            data = json.loads(data) if isinstance(data, (str, bytes)) else data
            if isinstance(data, dict) and "reason" in data:
                conn.execute(events.update().where(events.c.id == id_)
                             .values(data={k: v for k, v in data.items() if k != "reason"}))
        last = rows[-1][0]


def upgrade() -> None:
    encrypt_columns(TABLES)
    _scrub_event_reasons()


def downgrade() -> None:
    decrypt_columns(TABLES)
