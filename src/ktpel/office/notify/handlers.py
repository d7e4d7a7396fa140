"""Handlers other capabilities call: central events applied at the office, and the end of an outage.

Registered in `ktpel.office.composition` (central's events, the end of an outage); each runs
in the caller's transaction, so the message row commits (or not) together with the state change.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.office.notify.outbox import call_list_entry_for, enqueue
from ktpel.store.schema.core import CardRow, EnrollmentRow, ResidentRow
from ktpel.store.schema.notify import RevocationRow, TurnedAwayRow
from ktpel.sync.wiring import HandlerContext

log = logging.getLogger("ktpel.office.notify")


def _residents_of(session: Session, *, subject_id: str | None, data: dict) -> list[tuple[int, str]]:
    """(resident id, enrollment id) of the local residents an event is about; empty if none is ours."""
    enrollment_ids = [subject_id, data.get("enrollment_id"), *(data.get("enrollment_ids") or [])]
    found: list[tuple[int, str]] = []
    for eid in dict.fromkeys(e for e in enrollment_ids if e):
        row = session.get(EnrollmentRow, str(eid))
        if row is not None:
            found.append((row.resident_id, row.id))
    if not found and data.get("nik"):
        rid = session.scalar(select(ResidentRow.id).where(ResidentRow.nik == str(data["nik"])))
        if rid is not None:
            found.append((rid, str(subject_id or "")))
    return found


def _notify(session: Session, *, trigger: str, subject_id: str | None, data: dict | None,
            extra: dict | None = None) -> int:
    data = data or {}
    targets = _residents_of(session, subject_id=subject_id, data=data)
    if not targets:
        log.info("notify %s: no local resident for subject %s", trigger, subject_id)
    for resident_id, enrollment_id in targets:
        # the enrollment id keeps the same event applied twice from queuing twice (dedupe key)
        enqueue(session, resident_id=resident_id, trigger=trigger,
                variables={"ref": enrollment_id, **(extra or {})})
    return len(targets)


def on_print_ready(session: Session, *, subject_id: str | None = None, data: dict | None = None, **_: object) -> None:
    """`enrollment.print_ready` → "silakan datang ke …, bawa …"."""
    _notify(session, trigger="print_ready", subject_id=subject_id, data=data)


def on_duplicate(session: Session, *, subject_id: str | None = None, data: dict | None = None, **_: object) -> None:
    """`enrollment.duplicate` / `duplicate.case_opened` → come with the KK (one message per enrollment)."""
    _notify(session, trigger="duplicate_found", subject_id=subject_id, data=data)


def on_failed(session: Session, *, subject_id: str | None = None, data: dict | None = None, **_: object) -> None:
    """`enrollment.failed` (EFAC) → re-record, with central's reason."""
    reason = (data or {}).get("reason")
    _notify(session, trigger="recording_failed", subject_id=subject_id, data=data,
            extra={"alasan": reason} if reason else None)


def on_revocation(session: Session, *, context: HandlerContext, subject_id: str | None = None,
                  data: dict | None = None, **_: object) -> None:
    """`revocation` → remember the revoked card (by card id and enrollment id) so /verifikasi says "revoked"."""
    data = data or {}
    enrollment_id = str(data.get("enrollment_id") or subject_id or "")
    card_id = str(data.get("card_id") or "")
    if not card_id and enrollment_id:
        card_id = session.scalar(select(CardRow.id).where(CardRow.enrollment_id == enrollment_id)) or ""
    keys = [k for k in dict.fromkeys((card_id, enrollment_id)) if k]
    if not keys:
        log.warning("revocation event without a card or enrollment id: %r", data)
        return
    for key in keys:
        if session.get(RevocationRow, key) is None:
            session.add(RevocationRow(card_id=key, nik=data.get("nik"), reason=str(data.get("reason") or ""),
                                      revoked_at=context.clock()))
    session.flush()


def on_outage_ended(session: Session, *, context: HandlerContext, outage_id: object = None,
                    started_at: object = None, ended_at: object = None, **_: object) -> None:
    """Tell everyone turned away that printing is back, or put them on the call list."""
    waiting = list(session.scalars(select(TurnedAwayRow).where(TurnedAwayRow.notified_at.is_(None))))
    for row in waiting:
        ids = enqueue(session, resident_id=row.resident_id, trigger="outage_over",
                      variables={"ref": f"outage:{outage_id}:{row.id}"})
        if ids:
            row.outcome = "MESSAGE"
        elif call_list_entry_for(session, resident_id=row.resident_id, trigger="outage_over") is not None:
            row.outcome = "CALL_LIST"
        else:
            row.outcome = "OPTED_OUT"
        row.notified_at = context.clock()
        row.outage_id = str(outage_id) if outage_id is not None else None
    session.flush()
