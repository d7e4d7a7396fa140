"""Events from central to one office, numbered 1, 2, 3 … per office without gaps, pulled by cursor."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.domain.events import utcnow
from ktpel.store.schema.sync import CentralEventRow, EventCounterRow, SyncOfficeRow

KINDS = (
    "enrollment.received", "enrollment.print_ready", "enrollment.adjudication", "enrollment.duplicate",
    "enrollment.failed", "announcement", "blanks.allocated", "duplicate.case_opened", "revocation",
    "blanks.loan_out", "blanks.loan_in",
)


def publish(session: Session, *, office_code: str, kind: str, subject_id: str, data: dict) -> int:
    """Append an event for `office_code` in the caller's transaction; returns its sequence number."""
    counter = session.execute(
        select(EventCounterRow).where(EventCounterRow.office_code == office_code).with_for_update()
    ).scalar_one_or_none()
    if counter is None:
        counter = EventCounterRow(office_code=office_code, last_seq=0)
        session.add(counter)
        session.flush()
    # the counter row lock (PostgreSQL) / the write lock (SQLite) makes sequences commit in order
    counter.last_seq += 1
    seq = counter.last_seq
    session.add(CentralEventRow(office_code=office_code, seq=seq, kind=kind, subject_id=str(subject_id),
                                data=json.dumps(data, ensure_ascii=False, sort_keys=True), created_at=utcnow()))
    session.flush()
    return seq


def publish_to_all(session: Session, *, kind: str, subject_id: str, data: dict) -> int:
    """The same event for every registered office (announcements); returns how many offices."""
    codes = list(session.scalars(select(SyncOfficeRow.office_code)))
    for code in codes:
        publish(session, office_code=code, kind=kind, subject_id=subject_id, data=data)
    return len(codes)


def events_after(session: Session, *, office_code: str, after: int, limit: int = 200) -> list[dict]:
    rows = session.scalars(
        select(CentralEventRow).where(CentralEventRow.office_code == office_code, CentralEventRow.seq > after)
        .order_by(CentralEventRow.seq).limit(limit))
    return [{"seq": r.seq, "kind": r.kind, "subject_id": r.subject_id, "data": json.loads(r.data),
             "created_at": r.created_at.isoformat()} for r in rows]
