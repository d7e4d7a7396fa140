"""privacy: encrypt the office columns issue 20's at-rest check still found in clear

* `suket.token`, `ikd_activations.token`: the signed Suket/IKD token's payload (base64, not secret) holds
  NIK, name, birth place and date, sex and address, as `cards.authorisation` did (privacy_0001);
* `print_queue.classes`, `print_queue.proof_notes`: priority classes name health (BPJS), disability or old
  age, and the note is free text about the proof shown;
* `pickup_checks.note`, `notify_call_attempts.note`: staff's free-text notes, where a personal detail may
  be typed.

Text columns become EncryptedText, JSON columns EncryptedJSON (AES-256-GCM of the canonical JSON).
Nothing looks any of them up in SQL (a Suket is verified by the serial in its signed payload, an IKD by its
credential id; the print queue ranks in Python), so no blind index is needed. Existing rows are encrypted in
place, a batch at a time, like privacy_0002 (no table rebuild; `ktpel.store.column_encryption`). Every
table here is the office's: a central database has none of them (ktpel.store.sides.migration_holds).

Revision ID: privacy_0003
Revises: privacy_0002
"""
from ktpel.store.column_encryption import JSON, TEXT, decrypt_columns, encrypt_columns


revision = "privacy_0003"
down_revision = "privacy_0002"
branch_labels = None
depends_on = ("suket_0001", "ikd_0001", "printing_0001", "notify_0001")

# table -> (primary key, {column: (kind, nullable)}); nullability as the capability's migration made it
TABLES = {
    "suket": ("serial", {"token": (TEXT, False)}),
    "ikd_activations": ("id", {"token": (TEXT, True)}),
    "print_queue": ("card_id", {"classes": (JSON, False), "proof_notes": (JSON, False)}),
    "pickup_checks": ("id", {"note": (TEXT, False)}),
    "notify_call_attempts": ("id", {"note": (TEXT, False)}),
}
EMPTY_JSON = {"classes": list, "proof_notes": dict}


def upgrade() -> None:
    encrypt_columns(TABLES, empty_json=EMPTY_JSON)


def downgrade() -> None:
    decrypt_columns(TABLES, empty_json=EMPTY_JSON)
