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
place, a batch at a time, like privacy_0002 (no table rebuild). Every table here is the office's: a
central database has none of them (ktpel.store.sides.migration_holds).

Revision ID: privacy_0003
Revises: privacy_0002
"""
import json

from alembic import op
import sqlalchemy as sa

from ktpel.store.sides import migration_holds


revision = "privacy_0003"
down_revision = "privacy_0002"
branch_labels = None
depends_on = ("suket_0001", "ikd_0001", "printing_0001", "notify_0001")

TEXT, JSON = "text", "json"
# table -> (primary key, {column: (kind, nullable)}); nullability as the capability's migration made it
TABLES = {
    "suket": ("serial", {"token": (TEXT, False)}),
    "ikd_activations": ("id", {"token": (TEXT, True)}),
    "print_queue": ("card_id", {"classes": (JSON, False), "proof_notes": (JSON, False)}),
    "pickup_checks": ("id", {"note": (TEXT, False)}),
    "notify_call_attempts": ("id", {"note": (TEXT, False)}),
}
EMPTY_JSON = {"classes": list, "proof_notes": dict}
BATCH = 1000


def _here() -> list[tuple[str, str, dict]]:
    """The tables of TABLES this side's database holds (a central database has none of them)."""
    return [(table, pk, cols) for table, (pk, cols) in TABLES.items() if migration_holds(table)]


def _clear_type(kind: str):  # noqa: ANN202
    return sa.JSON() if kind == JSON else sa.Text()


def _encrypt(raw, *, kind: str, column: str) -> bytes | None:  # noqa: ANN001
    """The ciphertext EncryptedText / EncryptedJSON would have written for this clear value."""
    from ktpel.store.fields import cipher

    if kind == TEXT:
        return None if raw is None else cipher().encrypt(str(raw).encode("utf-8"))
    # SQLite hands JSON back as text, PostgreSQL's driver as the value
    value = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    if value is None:
        value = EMPTY_JSON[column]()
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return cipher().encrypt(text.encode("utf-8"))


def _decrypt(raw, *, kind: str, column: str):  # noqa: ANN001, ANN202
    from ktpel.store.fields import cipher

    if raw is None:
        return None if kind == TEXT else EMPTY_JSON[column]()
    plain = cipher().decrypt(bytes(raw)).decode("utf-8")
    return plain if kind == TEXT else json.loads(plain)


def _rewrite(table: str, pk: str, cols: dict, *, encrypt: bool) -> None:
    """Copy each column into `<col>__new`, encrypting (or decrypting), a batch of rows at a time."""
    conn = op.get_bind()
    src = sa.table(table, sa.column(pk), *[sa.column(col) for col in cols])
    dst = sa.table(table, sa.column(pk), *[
        sa.column(f"{col}__new", sa.LargeBinary() if encrypt else _clear_type(kind)) for col, (kind, _) in cols.items()])
    change = _encrypt if encrypt else _decrypt
    last = None
    while True:
        query = sa.select(src).order_by(src.c[pk]).limit(BATCH)
        if last is not None:
            query = query.where(src.c[pk] > last)
        rows = conn.execute(query).mappings().all()
        if not rows:
            return
        updates = [{"_pk": row[pk], **{f"{col}__new": change(row[col], kind=kind, column=col)
                                      for col, (kind, _) in cols.items()}} for row in rows]
        conn.execute(dst.update().where(dst.c[pk] == sa.bindparam("_pk")), updates)
        last = rows[-1][pk]


def _swap(table: str, col: str, *, new_type, nullable: bool) -> None:  # noqa: ANN001
    """Replace the column by its copy in place (SQLite ≥ 3.35 drops and renames columns; see privacy_0001:
    there the copy stays nullable, SQLite cannot add NOT NULL afterwards; the models always write)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{col}"')
        op.execute(f'ALTER TABLE "{table}" RENAME COLUMN "{col}__new" TO "{col}"')
    else:
        op.drop_column(table, col)
        op.alter_column(table, f"{col}__new", new_column_name=col, existing_type=new_type, nullable=nullable)


def _migrate(*, encrypt: bool) -> None:
    for table, pk, cols in _here():
        for col, (kind, _) in cols.items():
            new_type = sa.LargeBinary() if encrypt else _clear_type(kind)
            op.add_column(table, sa.Column(f"{col}__new", new_type, nullable=True))
        _rewrite(table, pk, cols, encrypt=encrypt)
        for col, (kind, nullable) in cols.items():
            _swap(table, col, new_type=sa.LargeBinary() if encrypt else _clear_type(kind), nullable=nullable)


def upgrade() -> None:
    _migrate(encrypt=True)


def downgrade() -> None:
    _migrate(encrypt=False)
