"""Encrypt (or decrypt) clear columns in place, inside a migration: the privacy_000N revisions share it.

Each column `c` gets a copy `c__new` (LargeBinary on the way up, the clear type on the way down), filled a
batch of rows at a time in primary-key order, then the original is dropped and the copy renamed: no table
rebuild. The ciphertext is exactly what `EncryptedText` / `EncryptedJSON` writes, so the models read old
rows as they read new ones. Tables the database being migrated does not hold (the other side's, see
`ktpel.store.sides.migration_holds`) are skipped.

On PostgreSQL the dropped clear column's values and the rows' old versions stay in the table's files until
the table is rewritten; docs/security.md tells the operator to run `VACUUM FULL` on the tables named.
"""

from __future__ import annotations

import json
from typing import Callable

import sqlalchemy as sa

TEXT, JSON = "text", "json"
BATCH = 1000

# table -> (primary key, {column: (kind, nullable)}); nullability as the capability's migration made it
Tables = dict[str, tuple[str, dict[str, tuple[str, bool]]]]


def encrypt_columns(tables: Tables, *, empty_json: dict[str, Callable[[], object]] | None = None) -> None:
    """Upgrade: every listed clear column of the tables this database holds becomes ciphertext."""
    _migrate(tables, encrypt=True, empty_json=empty_json or {})


def decrypt_columns(tables: Tables, *, empty_json: dict[str, Callable[[], object]] | None = None) -> None:
    """Downgrade: the same columns in clear again, values restored."""
    _migrate(tables, encrypt=False, empty_json=empty_json or {})


def _clear_type(kind: str):  # noqa: ANN202
    return sa.JSON() if kind == JSON else sa.Text()


def _encrypt(raw, *, kind: str, empty) -> bytes | None:  # noqa: ANN001
    """The ciphertext EncryptedText / EncryptedJSON would have written for this clear value."""
    from ktpel.store.fields import cipher

    if kind == TEXT:
        return None if raw is None else cipher().encrypt(str(raw).encode("utf-8"))
    # SQLite hands JSON back as text, PostgreSQL's driver as the value
    value = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    if value is None:
        value = empty()
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return cipher().encrypt(text.encode("utf-8"))


def _decrypt(raw, *, kind: str, empty):  # noqa: ANN001, ANN202
    from ktpel.store.fields import cipher

    if raw is None:
        return None if kind == TEXT else empty()
    plain = cipher().decrypt(bytes(raw)).decode("utf-8")
    return plain if kind == TEXT else json.loads(plain)


def _rewrite(table: str, pk: str, cols: dict, *, encrypt: bool, empty_json: dict) -> None:
    """Copy each column into `<col>__new`, encrypting (or decrypting), a batch of rows at a time."""
    from alembic import op

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
        updates = [{"_pk": row[pk], **{f"{col}__new": change(row[col], kind=kind, empty=empty_json.get(col, dict))
                                      for col, (kind, _) in cols.items()}} for row in rows]
        conn.execute(dst.update().where(dst.c[pk] == sa.bindparam("_pk")), updates)
        last = rows[-1][pk]


def _swap(table: str, col: str, *, new_type, nullable: bool) -> None:  # noqa: ANN001
    """Replace the column by its copy in place (SQLite ≥ 3.35 drops and renames columns; see privacy_0001:
    there the copy stays nullable, SQLite cannot add NOT NULL afterwards; the models always write)."""
    from alembic import op

    if op.get_bind().dialect.name == "sqlite":
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{col}"')
        op.execute(f'ALTER TABLE "{table}" RENAME COLUMN "{col}__new" TO "{col}"')
    else:
        op.drop_column(table, col)
        op.alter_column(table, f"{col}__new", new_column_name=col, existing_type=new_type, nullable=nullable)


def _migrate(tables: Tables, *, encrypt: bool, empty_json: dict) -> None:
    from alembic import op

    from ktpel.store.sides import migration_holds

    for table, (pk, cols) in tables.items():
        if not migration_holds(table):
            continue
        for col, (kind, _) in cols.items():
            op.add_column(table, sa.Column(f"{col}__new", sa.LargeBinary() if encrypt else _clear_type(kind),
                                           nullable=True))
        _rewrite(table, pk, cols, encrypt=encrypt, empty_json=empty_json)
        for col, (kind, nullable) in cols.items():
            _swap(table, col, new_type=sa.LargeBinary() if encrypt else _clear_type(kind), nullable=nullable)
