"""Outage call-back list, the staff call list, and the outbox as officers see it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.config import Settings
from ktpel.domain.enrollment import CardState, EnrollmentState
from ktpel.domain.errors import KtpelError, NotFound
from ktpel.domain.events import utcnow
from ktpel.office.notify import outbox
from ktpel.office.notify.service import compose_for
from ktpel.security.audit import record_audit
from ktpel.store.schema.core import PhoneRow, ResidentRow
from ktpel.store.schema.notify import CallAttemptRow, CallListRow, NotifyMessageRow, TurnedAwayRow

OUTCOMES = {
    "REACHED": ("berhasil dihubungi", "reached"),
    "NO_ANSWER": ("tidak diangkat", "no answer"),
    "WRONG_NUMBER": ("nomor salah", "wrong number"),
}


class UnknownOutcome(KtpelError):
    code = "call_outcome_invalid"
    http_status = 422

    def __init__(self, outcome: str) -> None:
        super().__init__(f"Hasil panggilan '{outcome}' tidak dikenal.", f"Unknown call outcome '{outcome}'.")


class CallClosed(KtpelError):
    code = "call_closed"
    http_status = 409

    def __init__(self) -> None:
        super().__init__("Panggilan ini sudah selesai.", "This call is already closed.")


def _local_resident(session: Session, *, nik: str, regency_code: str) -> ResidentRow:
    row = session.scalar(select(ResidentRow).where(ResidentRow.nik == nik.strip(),
                                                   ResidentRow.regency_code == regency_code))
    if row is None:
        raise NotFound(f"Penduduk dengan NIK {nik.strip()} tidak ditemukan di kabupaten ini.",
                       f"No resident with NIK {nik.strip()} in this regency.")
    return row


def add_turned_away(session: Session, *, nik: str, regency_code: str, actor: str,
                    source_ip: str | None = None) -> TurnedAwayRow:
    """One click at the counter: remember a resident sent home during an outage (idempotent while waiting)."""
    resident = _local_resident(session, nik=nik, regency_code=regency_code)
    existing = session.scalar(select(TurnedAwayRow).where(TurnedAwayRow.resident_id == resident.id,
                                                          TurnedAwayRow.notified_at.is_(None)))
    if existing is not None:
        return existing
    row = TurnedAwayRow(resident_id=resident.id, added_by=actor, added_at=utcnow())
    session.add(row)
    session.flush()
    record_audit(session, actor=actor, action="notify.turned_away_added", subject=f"resident:{resident.id}",
           after={"turned_away_id": row.id}, source_ip=source_ip)
    return row


@dataclass(frozen=True)
class TurnedAway:
    id: int
    nik: str
    name: str
    added_by: str
    added_at: dt.datetime
    notified_at: dt.datetime | None
    outcome: str | None


def list_turned_away(session: Session, *, regency_code: str, limit: int = 200) -> list[TurnedAway]:
    """Waiting residents first, then the most recently notified."""
    rows = session.execute(
        select(TurnedAwayRow, ResidentRow.nik, ResidentRow.name)
        .join(ResidentRow, ResidentRow.id == TurnedAwayRow.resident_id)
        .where(ResidentRow.regency_code == regency_code)
        .order_by(TurnedAwayRow.notified_at.is_not(None), TurnedAwayRow.added_at.desc()).limit(limit)
    ).all()
    return [TurnedAway(r.id, nik, name, r.added_by, r.added_at, r.notified_at, r.outcome) for r, nik, name in rows]


@dataclass(frozen=True)
class CallEntry:
    id: int
    nik: str
    name: str
    trigger: str
    phones: list[str]
    text: str
    state: str
    created_at: dt.datetime
    attempts: list[tuple[str, str, str, dt.datetime]]  # outcome, note, by, at


def _call_is_moot(session: Session, row: CallListRow) -> bool:
    """A call whose reason has passed: the resident already holds the card, the data-ganda case is
    resolved, or they came back and recorded since the call was listed. Staff do not phone them."""
    from ktpel.store.schema.core import CardRow, EnrollmentRow

    card_states = set(session.scalars(select(CardRow.state).where(CardRow.resident_id == row.resident_id)))
    if CardState.ISSUED.value in card_states:
        return True
    latest = session.execute(select(EnrollmentRow.state, EnrollmentRow.created_at)
                             .where(EnrollmentRow.resident_id == row.resident_id)
                             .order_by(EnrollmentRow.created_at.desc()).limit(1)).first()
    if row.trigger == "duplicate_found":
        return latest is None or latest[0] != EnrollmentState.DUPLICATE.value
    if row.trigger in ("recording_failed", "outage_over") and latest is not None:
        created = latest[1] if latest[1].tzinfo else latest[1].replace(tzinfo=dt.timezone.utc)
        since = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.timezone.utc)
        return created > since and latest[0] != EnrollmentState.FAILED.value
    return False


def call_list(session: Session, *, settings: Settings, include_closed: bool = False) -> list[CallEntry]:
    """Residents staff must phone (no consenting phone takes SMS), with the text to read out."""
    q = (select(CallListRow, ResidentRow.nik, ResidentRow.name)
         .join(ResidentRow, ResidentRow.id == CallListRow.resident_id)
         .where(ResidentRow.regency_code == settings.office_regency))
    if not include_closed:
        q = q.where(CallListRow.state == "OPEN")
    out: list[CallEntry] = []
    for row, nik, name in session.execute(q.order_by(CallListRow.created_at)).all():
        if not include_closed and _call_is_moot(session, row):
            continue
        phones = [p.number for p in session.scalars(select(PhoneRow).where(PhoneRow.resident_id == row.resident_id,
                                                                           PhoneRow.consent.is_(True)))]
        text, _ = compose_for(session, settings=settings, resident_id=row.resident_id, trigger=row.trigger,
                              variables=json.loads(row.variables or "{}"))
        attempts = [(a.outcome, a.note, a.by, a.at) for a in session.scalars(
            select(CallAttemptRow).where(CallAttemptRow.call_id == row.id).order_by(CallAttemptRow.at))]
        out.append(CallEntry(row.id, nik, name, row.trigger, phones, text.split("\n\n(EN)")[0], row.state,
                             row.created_at, attempts))
    return out


def record_call(session: Session, *, call_id: int, outcome: str, note: str = "", actor: str,
                source_ip: str | None = None) -> CallListRow:
    """Log one call; REACHED and WRONG_NUMBER close the entry, NO_ANSWER keeps it open for another try."""
    if outcome not in OUTCOMES:
        raise UnknownOutcome(outcome)
    row = session.get(CallListRow, call_id)
    if row is None:
        raise NotFound("Panggilan tidak ditemukan.", "Call not found.")
    if row.state != "OPEN":
        raise CallClosed()
    session.add(CallAttemptRow(call_id=row.id, outcome=outcome, note=note.strip()[:500], by=actor, at=utcnow()))
    if outcome != "NO_ANSWER":
        row.state, row.closed_at = outcome, utcnow()
    session.flush()
    record_audit(session, actor=actor, action="notify.call_logged", subject=f"call:{row.id}",
           after={"outcome": outcome, "state": row.state}, source_ip=source_ip)
    return row


@dataclass(frozen=True)
class MessageLine:
    id: str
    nik: str
    trigger: str
    recipient: str
    channel: str
    state: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    delivery: str | None = None


def recent_messages(session: Session, *, regency_code: str, state: str | None = None,
                    limit: int = 100) -> tuple[list[MessageLine], dict[str, int]]:
    """The newest outbox rows (optionally of one state) and the count per state."""
    base = (select(NotifyMessageRow, ResidentRow.nik).join(ResidentRow, ResidentRow.id == NotifyMessageRow.resident_id)
            .where(ResidentRow.regency_code == regency_code))
    if state:
        base = base.where(NotifyMessageRow.state == state)
    lines = [MessageLine(m.id, nik, m.trigger, _mask(m.recipient), m.channel or "-", m.state, m.attempts,
                         m.last_error, m.created_at, m.sent_at, m.delivery)
             for m, nik in session.execute(base.order_by(NotifyMessageRow.created_at.desc()).limit(limit)).all()]
    counts = dict(session.execute(
        select(NotifyMessageRow.state, func.count()).join(ResidentRow, ResidentRow.id == NotifyMessageRow.resident_id)
        .where(ResidentRow.regency_code == regency_code).group_by(NotifyMessageRow.state)).all())
    return lines, counts


def _mask(number: str) -> str:
    return number[:6] + "•" * max(0, len(number) - 9) + number[-3:] if len(number) > 9 else number


def retry_failed(session: Session, *, message_id: str, actor: str, source_ip: str | None = None) -> None:
    """Put a FAILED message back in the queue (e.g. after the provider's outage); attempts start over."""
    row = session.get(NotifyMessageRow, message_id)
    if row is None:
        raise NotFound("Pesan tidak ditemukan.", "Message not found.")
    if row.state != outbox.FAILED:
        raise KtpelError("Hanya pesan yang gagal dapat dikirim ulang.", "Only failed messages can be retried.",
                         code="message_not_failed")
    row.state, row.attempts, row.next_attempt_at = outbox.PENDING, 0, utcnow()
    record_audit(session, actor=actor, action="notify.message_retried", subject=f"message:{row.id}",
           source_ip=source_ip)
