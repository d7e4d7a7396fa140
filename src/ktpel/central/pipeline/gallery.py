"""Each worker's view of the national gallery, kept in step with the database through an ABIS.

The database is the truth: a record enters the gallery by getting a `gallery_seq` from a locked
counter, committed before its own 1:N search. A worker refreshes its ABIS with every sequence number
above the last it saw, then searches. Of two recordings of one person processed at the same moment on
two workers, the one that commits its number second sees the other: duplicates cannot slip through
in the race. Revoked records leave the gallery.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ktpel.biometrics.abis import Abis, BuiltinAbis
from ktpel.biometrics.errors import UnknownReference
from ktpel.central.records import decode_templates, left_gallery
from ktpel.domain.national_record import NationalRecordState
from ktpel.store.schema.central import CentralCounterRow, NationalRecordRow

COUNTER = "gallery_seq"
# A shared ABIS hears how far a worker has applied the gallery at most this often, and whenever the
# worker finds the queue empty (`settle`). Each mark is a call on every shard (~2 ms of a shard's CPU
# under Ray, measured: 4.5 ms a decision with two shards); a mark that lags only makes a worker that
# starts next re-insert a few records, which changes nothing (inserts are idempotent).
MARK_EVERY_S = 1.0


def take_gallery_seq(session: Session, *, record: NationalRecordRow) -> int:
    """Give a record its place in the gallery (idempotent: a record keeps its first number)."""
    if record.gallery_seq is not None:
        return record.gallery_seq
    record.gallery_seq = _next_gallery_seq(session)
    session.flush()
    return record.gallery_seq


def renumber_leaving_gallery(session: Session, *, record: NationalRecordRow) -> None:
    """A record that leaves the gallery (revoked) takes the next number too: every worker's refresh reads
    the records numbered after the last it saw, so it meets the revocation there instead of reading every
    revoked record ever on each decision (millions at national scale). A record never numbered was never
    in the gallery: nothing to do."""
    if record.gallery_seq is not None:
        record.gallery_seq = _next_gallery_seq(session)
        session.flush()


def _next_gallery_seq(session: Session) -> int:
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        # two first-ever workers must not both create the counter: insert-if-absent, then bump under its lock
        ins = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(ins(CentralCounterRow).values(name=COUNTER, value=0).on_conflict_do_nothing())
    elif session.get(CentralCounterRow, COUNTER) is None:
        session.add(CentralCounterRow(name=COUNTER, value=0))
        session.flush()
    session.execute(update(CentralCounterRow).where(CentralCounterRow.name == COUNTER)
                    .values(value=CentralCounterRow.value + 1))
    return session.scalar(select(CentralCounterRow.value).where(CentralCounterRow.name == COUNTER))


class GalleryMirror:
    """A worker's handle on the ABIS plus the highest gallery sequence number it has applied.

    With the in-process ABIS the worker holds the gallery itself; with a shared ABIS (Ray shards,
    anything with `mark_synced`/`synced_seq`) the worker holds only this number: the shards hold the
    templates, a new worker starts from the number the shards have all confirmed, and writes are
    idempotent, so two workers applying the same record change nothing.
    """

    def __init__(self, abis: Abis | None = None) -> None:
        self.abis: Abis = abis if abis is not None else BuiltinAbis()
        self.shared = hasattr(self.abis, "mark_synced") and hasattr(self.abis, "synced_seq")
        self.last_seq: int | None = None if self.shared else 0
        self.members: set[str] = set()
        self._deleted: set[str] = set()
        self._lock = threading.Lock()
        self._marked_seq = 0
        self._marked_at = float("-inf")  # time.monotonic() of the last mark
        self._swept = False  # revocations older than the renumbering rule: read once, on the first refresh

    def refresh(self, session: Session, *, parsed: dict[str, list] | None = None) -> int:
        """Insert every record numbered since the last refresh; drop revoked ones. Returns how many added.

        `parsed` maps record ids to template objects already parsed (the probe about to be searched):
        the gallery then holds those same objects, whose matcher features are computed once for both.
        A revocation renumbers its record (`renumber_leaving_gallery`), so it is among the rows read here;
        revocations made before that rule are swept once, on this mirror's first refresh.
        """
        with self._lock:
            if self.last_seq is None:
                self.last_seq = int(self.abis.synced_seq())
            rows = session.execute(
                select(NationalRecordRow.id, NationalRecordRow.templates, NationalRecordRow.gallery_seq,
                       NationalRecordRow.state)
                .where(NationalRecordRow.gallery_seq > self.last_seq)
                .order_by(NationalRecordRow.gallery_seq)).all()
            added, batch, gone = 0, [], []
            for rid, templates, seq, state in rows:
                if state == NationalRecordState.REVOKED.value:
                    gone.append(rid)
                    continue
                known = (parsed or {}).get(rid)
                batch.append((rid, known if known is not None else decode_templates(templates)))
                self.members.add(rid)
                added += 1
            if batch and hasattr(self.abis, "insert_many"):
                self.abis.insert_many(batch)
            else:
                for rid, templates in batch:
                    self.abis.insert(rid, templates)
            if not self._swept:
                gone.extend(session.scalars(select(NationalRecordRow.id).where(*left_gallery())).all())
                self._swept = True
            leaving = [rid for rid in dict.fromkeys(gone) if rid not in self._deleted
                       and (self.shared or rid in self.members)]
            if len(leaving) > 1 and hasattr(self.abis, "delete_many"):
                self.abis.delete_many(leaving)  # one call a shard, not one a record
                self.members.difference_update(leaving)
                self._deleted.update(leaving)
            else:
                for rid in leaving:
                    self.remove(rid)
            if rows:
                self.last_seq = max(self.last_seq, max(seq for _, _, seq, _ in rows))
                self._mark(force=False)
            return added

    def settle(self) -> None:
        """Tell a shared ABIS everything applied so far (the worker calls this when the queue is empty)."""
        with self._lock:
            self._mark(force=True)

    def _mark(self, *, force: bool) -> None:
        if not self.shared or self.last_seq is None or self.last_seq <= self._marked_seq:
            return
        now = time.monotonic()  # a rate limit, not a date: no clock needed
        if force or now - self._marked_at >= MARK_EVERY_S:
            self.abis.mark_synced(self.last_seq)
            self._marked_seq, self._marked_at = self.last_seq, now

    def remove(self, reference_id: str) -> None:
        try:
            self.abis.delete(reference_id)
        except UnknownReference:
            pass  # already gone: deleting is idempotent for the pipeline
        self.members.discard(reference_id)
        self._deleted.add(reference_id)
