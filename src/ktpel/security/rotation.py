"""Field-key rotation without downtime.

1. `add_active_key` writes a keyring with a fresh active key in front of the old ones (atomically).
   Running servers notice the changed file within seconds (FieldCipher.refresh): they encrypt new
   values under the new key and still read values under the old keys.
2. `reencrypt_all` walks every EncryptedText/EncryptedBytes column in primary-key order, a batch per
   short transaction, and rewrites values under older keys. Each update is compare-and-set on the old
   ciphertext, so a value a server rewrote meanwhile is left alone (it is already under a current key
   or is caught by the next pass). Passes repeat until one finds nothing stale.
3. `retire_unused_keys` drops old keys no stored value uses any more. The blind-index key (derived from
   the original key) is pinned in the keyring first as a one-way derivative, so name search survives.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from sqlalchemy import LargeBinary, func, select, type_coerce, update

from ktpel.store.fields import FieldCipher, FieldKeyring, cipher, configure_cipher, write_keyring
from ktpel.store.types import EncryptedBytes, EncryptedText


class RotationError(Exception):
    pass


def encrypted_columns(extra_tables=()):  # noqa: ANN001, ANN201
    """(table, column, primary key column) of every encrypted column in the schema (and `extra_tables`)."""
    from ktpel.store.schema import metadata

    out = []
    for table in [*metadata.sorted_tables, *extra_tables]:
        pk = list(table.primary_key.columns)
        for col in table.columns:
            if isinstance(col.type, (EncryptedText, EncryptedBytes)):
                if len(pk) != 1:
                    raise RotationError(f"{table.name}: encrypted columns need a single-column primary key")
                out.append((table, col, pk[0]))
    return out


def add_active_key(keyfile: Path) -> str:
    """Put a fresh active key in front of the key file's keys; returns its id."""
    if os.environ.get("KTPEL_FIELD_KEYS") or os.environ.get("KTPEL_FIELD_KEY_PROVIDER"):
        raise RotationError("keys come from the environment/KMS: add the new key there (newest first), "
                            "restart, then run with --resume")
    ring = FieldKeyring.loads(keyfile.read_text())
    rotated = FieldKeyring(keys=ring.rotated().keys, source=keyfile, index_key=ring.index_key)
    write_keyring(keyfile, rotated)
    configure_cipher(FieldCipher(rotated))
    return rotated.active_id


def count_stale(db, *, extra_tables=()) -> int:  # noqa: ANN001
    """How many encrypted values a pass will look at (for a progress bar)."""
    total = 0
    with db.unit_of_work() as s:
        for table, col, _pk in encrypted_columns(extra_tables):
            if _exists(db, table.name, col.name):
                total += s.scalar(select(func.count(col)).select_from(table)) or 0
    return total


def _exists(db, name: str, column: str | None = None) -> bool:  # noqa: ANN001
    """Whether the table (and column) is in this database: a side's schema may lag the code's models."""
    from sqlalchemy import inspect

    insp = inspect(db.engine)
    if not insp.has_table(name):
        return False
    return column is None or column in {c["name"] for c in insp.get_columns(name)}


def reencrypt_pass(db, *, batch: int = 500, progress: Callable[[int], None] | None = None,  # noqa: ANN001
                   extra_tables=()) -> int:  # noqa: ANN001
    """One walk over every encrypted column; returns how many values were re-encrypted."""
    c = cipher()
    c.refresh(force=True)
    active = c.keyring.active_id
    changed = 0
    for table, col, pk in encrypted_columns(extra_tables):
        if not _exists(db, table.name, col.name):
            continue
        raw = type_coerce(col, LargeBinary)
        last = None
        while True:
            with db.unit_of_work() as s:
                stmt = select(pk, raw).where(col.isnot(None)).order_by(pk).limit(batch)
                if last is not None:
                    stmt = stmt.where(pk > last)
                rows = s.execute(stmt).all()
                if not rows:
                    break
                for key, blob in rows:
                    blob = bytes(blob)
                    if c.key_id_of(blob) == active:
                        continue
                    fresh = c.encrypt(c.decrypt(blob))
                    done = s.execute(update(table).where(pk == key, raw == type_coerce(blob, LargeBinary))
                                     .values({col.name: type_coerce(fresh, LargeBinary)}))
                    changed += done.rowcount or 0
                last = rows[-1][0]
            if progress:
                progress(len(rows))
    return changed


def reencrypt_all(db, *, batch: int = 500, progress: Callable[[int], None] | None = None,  # noqa: ANN001
                  max_passes: int = 5, extra_tables=()) -> int:  # noqa: ANN001
    """Passes until nothing is left under an old key (servers may write old-key values for a moment)."""
    total = 0
    for n in range(max_passes):
        total += reencrypt_pass(db, batch=batch, progress=progress if n == 0 else None, extra_tables=extra_tables)
        if stale_values(db, extra_tables=extra_tables) == 0:
            break
    return total


def stale_values(db, *, key_ids: set[str] | None = None, extra_tables=()) -> int:  # noqa: ANN001
    """Values stored under keys other than the active one (or under `key_ids`)."""
    c = cipher()
    active = c.keyring.active_id
    n = 0
    with db.unit_of_work() as s:
        for table, col, _pk in encrypted_columns(extra_tables):
            if not _exists(db, table.name, col.name):
                continue
            for (blob,) in s.execute(select(type_coerce(col, LargeBinary)).where(col.isnot(None))
                                     .execution_options(yield_per=2000)):
                kid = c.key_id_of(bytes(blob))
                if (kid in key_ids) if key_ids is not None else kid != active:
                    n += 1
    return n


def retire_unused_keys(keyfile: Path, *, dbs: list, extra_tables=()) -> list[str]:  # noqa: ANN001
    """Drop keys no value in `dbs` uses (never the active one); pins the blind-index key first."""
    ring = FieldKeyring.loads(keyfile.read_text())
    candidates = {kid for kid, _ in ring.keys[1:]}
    if not candidates or any(stale_values(db, key_ids=candidates, extra_tables=extra_tables) for db in dbs):
        return []
    kept = FieldKeyring(keys=ring.without(candidates).keys, source=keyfile, index_key=ring.derived_index_key())
    write_keyring(keyfile, kept)
    configure_cipher(FieldCipher(kept))
    return sorted(candidates)
