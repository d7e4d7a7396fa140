"""Blocking keys at national scale: the rarest name word (and the full-name key), not the first word.

With the first word as key, "MUHAMMAD …" or "SITI …" born in one year is a block of millions that the
500-record cap cuts at random. Every word of every name is indexed (`central_name_blocks`), the
national frequency of each word key is kept (`central_name_word_counts`), and a probe blocks on its
rarest word now, plus its full-name key. Counts are approximate (a retried validation may count a record
twice); they only choose which key to block on.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ktpel.central.dedup.phonetic import full_name_key, name_keys, rarest_word_key
from ktpel.store.schema.blocking import NameBlockRow, NameWordCountRow


def block_keys_of(name: str) -> list[str]:
    """`w:` keys of every word and the `f:` key of the whole name."""
    keys = [f"w:{k}" for k in sorted(name_keys(name))]
    full = full_name_key(name)
    return keys + ([f"f:{full}"] if full else [])


def index_name(session: Session, *, record_id: str, name: str, birth_year: int) -> None:
    """(Re)write a record's name keys; count its words the first time the record is indexed."""
    had = session.scalar(select(NameBlockRow.record_id).where(NameBlockRow.record_id == record_id).limit(1))
    session.execute(delete(NameBlockRow).where(NameBlockRow.record_id == record_id))
    for key in block_keys_of(name):
        session.add(NameBlockRow(record_id=record_id, block_key=key, birth_year=birth_year))
    if had is None:
        count_words(session, word_keys=sorted(name_keys(name)))
    session.flush()


def count_words(session: Session, *, word_keys: list[str]) -> None:
    """+1 for each word key (insert-if-absent, then increment under the row lock)."""
    if not word_keys:
        return
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        ins = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(ins(NameWordCountRow).values([{"word_key": k, "records": 0} for k in word_keys])
                        .on_conflict_do_nothing())
    else:
        for k in word_keys:
            if session.get(NameWordCountRow, k) is None:
                session.add(NameWordCountRow(word_key=k, records=0))
        session.flush()
    session.execute(update(NameWordCountRow).where(NameWordCountRow.word_key.in_(word_keys))
                    .values(records=NameWordCountRow.records + 1))


def probe_keys(session: Session, *, name: str) -> list[str]:
    """The keys a probe blocks on: its rarest word now, and its full name."""
    words = sorted(name_keys(name))
    counts = dict(session.execute(select(NameWordCountRow.word_key, NameWordCountRow.records)
                                  .where(NameWordCountRow.word_key.in_(words))).all()) if words else {}
    rare = rarest_word_key(name, counts)
    full = full_name_key(name)
    return ([f"w:{rare}"] if rare else []) + ([f"f:{full}"] if full else [])


def backfill(session: Session, *, batch: int = 1000) -> int:
    """Index every national record not indexed yet (the migration that introduced the keys runs this)."""
    from ktpel.store.schema.central import NationalRecordRow as R

    done = 0
    while True:
        indexed = select(NameBlockRow.record_id)
        rows = session.execute(select(R.id, R.name, R.birth_date).where(R.id.not_in(indexed))
                               .order_by(R.id).limit(batch)).all()
        for rid, name, born in rows:
            index_name(session, record_id=rid, name=name, birth_year=born.year)
        done += len(rows)
        if len(rows) < batch:
            return done
