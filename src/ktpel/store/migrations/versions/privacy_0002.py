"""privacy: encrypt the finger/signature exception reasons (enrollments.exceptions,
central_records.exceptions) — "amputated", "burn scar" are health data

The JSON columns become EncryptedJSON (AES-256-GCM of the canonical JSON); existing rows are encrypted in
place, a batch at a time, like privacy_0001 (no table rebuild).

Revision ID: privacy_0002
Revises: privacy_0001
"""
import json

from alembic import op
import sqlalchemy as sa

from ktpel.store.sides import migration_holds


revision = "privacy_0002"
down_revision = "privacy_0001"
branch_labels = None
depends_on = None

TABLES = (("enrollments", "id"), ("central_records", "id"))
BATCH = 1000


def _here() -> list[tuple[str, str]]:
    """The tables of TABLES this side's database holds (an office's has no central_records)."""
    return [(table, pk) for table, pk in TABLES if migration_holds(table)]


def _rewrite(table: str, pk: str, *, encrypt: bool) -> None:
    """Copy `exceptions` into `exceptions__new`, encrypting (or decrypting), a batch of rows at a time."""
    from ktpel.store.fields import cipher

    conn = op.get_bind()
    c = cipher()
    src = sa.table(table, sa.column(pk), sa.column("exceptions"))
    dst = sa.table(table, sa.column(pk), sa.column("exceptions__new", sa.LargeBinary() if encrypt else sa.JSON()))
    last = None
    while True:
        query = sa.select(src).order_by(src.c[pk]).limit(BATCH)
        if last is not None:
            query = query.where(src.c[pk] > last)
        rows = conn.execute(query).all()
        if not rows:
            return
        updates = []
        for key, raw in rows:
            if encrypt:  # SQLite hands JSON back as text, PostgreSQL's driver as the value
                value = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
                text = json.dumps(value or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                new = c.encrypt(text.encode("utf-8"))
            else:
                new = json.loads(c.decrypt(bytes(raw)).decode("utf-8")) if raw is not None else {}
            updates.append({"_pk": key, "exceptions__new": new})
        conn.execute(dst.update().where(dst.c[pk] == sa.bindparam("_pk")), updates)
        last = rows[-1][0]


def _swap(table: str, *, new_type) -> None:  # noqa: ANN001
    """Replace the column by its copy in place (SQLite ≥ 3.35 drops and renames columns; see privacy_0001)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "exceptions"')
        op.execute(f'ALTER TABLE "{table}" RENAME COLUMN "exceptions__new" TO "exceptions"')
    else:
        op.drop_column(table, "exceptions")
        op.alter_column(table, "exceptions__new", new_column_name="exceptions", existing_type=new_type,
                        nullable=False)


def upgrade() -> None:
    for table, pk in _here():
        op.add_column(table, sa.Column("exceptions__new", sa.LargeBinary(), nullable=True))
        _rewrite(table, pk, encrypt=True)
        _swap(table, new_type=sa.LargeBinary())


def downgrade() -> None:
    for table, pk in _here():
        op.add_column(table, sa.Column("exceptions__new", sa.JSON(), nullable=True))
        _rewrite(table, pk, encrypt=False)
        _swap(table, new_type=sa.JSON())
