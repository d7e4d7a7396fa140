"""Applying central's events at the office, in order, exactly once (the cursor moves in the same transaction).

Handlers per kind are `"module:function"` strings called as
`fn(session, *, seq, kind, subject_id, data)`. All handlers of one event and the cursor advance run in
ONE transaction: either the event is applied with every handler's effect, or it is retried later.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.domain.enrollment import Card, CardState, Enrollment, EnrollmentState
from ktpel.domain.events import DomainEvent, utcnow
from ktpel.plugins import resolve
from ktpel.store.db import Database
from ktpel.store.schema.core import CardRow, DomainEventRow, EnrollmentRow
from ktpel.store.schema.sync import OfficeAnnouncementRow
from ktpel.sync import authorisation
from ktpel.sync.outage import link

log = logging.getLogger("ktpel.sync.office")

HANDLERS: dict[str, list[str]] = {
    "enrollment.received": ["ktpel.sync.office_apply:apply_received"],
    "enrollment.print_ready": ["ktpel.sync.office_apply:apply_print_ready", "ktpel.notify.handlers:on_print_ready", "ktpel.central.resolution.office:apply_case_closed", "ktpel.office.outcomes:record_outcome"],
    "enrollment.adjudication": ["ktpel.sync.office_apply:apply_adjudication", "ktpel.office.outcomes:record_outcome"],
    "enrollment.duplicate": ["ktpel.sync.office_apply:apply_duplicate", "ktpel.notify.handlers:on_duplicate", "ktpel.office.outcomes:record_outcome"],
    "enrollment.failed": ["ktpel.sync.office_apply:apply_failed", "ktpel.notify.handlers:on_failed", "ktpel.office.outcomes:record_outcome"],
    "announcement": ["ktpel.sync.office_apply:apply_announcement"],
    "revocation": ["ktpel.sync.office_apply:apply_revocation", "ktpel.notify.handlers:on_revocation", "ktpel.central.resolution.office:apply_case_closed"],
    "blanks.allocated": ["ktpel.office.printing.service:apply_blanks_allocated"],
    "blanks.loan_out": ["ktpel.office.printing.loans:apply_loan_out"],
    "blanks.loan_in": ["ktpel.office.printing.loans:apply_loan_in"],
    "duplicate.case_opened": ["ktpel.notify.handlers:on_duplicate", "ktpel.central.resolution.office:apply_case_opened"],
}

_E = EnrollmentState


def _record(session: Session, events: list[DomainEvent]) -> None:
    """Domain events and audit entries of the state changes central caused."""
    audit = None
    if importlib.util.find_spec("ktpel.security.audit") is not None:
        audit = importlib.import_module("ktpel.security.audit").record_audit
    for e in events:
        session.add(DomainEventRow(name=e.name, subject_id=e.subject_id, data=e.data, at=e.at))
        if audit is not None:
            audit(session, actor="sync:central", action=e.name, subject=e.subject_id,
                  before={"state": e.data.get("from")}, after={"state": e.data.get("to")})


def _enrollment(session: Session, subject_id: str) -> tuple[EnrollmentRow, Enrollment] | None:
    row = session.get(EnrollmentRow, subject_id)
    if row is None:
        log.warning("event for unknown enrollment %s ignored", subject_id)
        return None
    return row, Enrollment(id=row.id, state=EnrollmentState(row.state))


def _to_received(machine: Enrollment) -> None:
    # events may overtake the receipt (office crashed after central committed): RECEIVED implies sent
    if machine.state in (_E.QUEUED, _E.SENT):
        machine.receive()


def _save(session: Session, row: EnrollmentRow, machine: Enrollment) -> None:
    row.state = machine.state.value
    _record(session, machine.events)


def apply_received(session: Session, *, seq: int, kind: str, subject_id: str, data: dict) -> None:
    """Central holds the recording durably (TERIMA)."""
    found = _enrollment(session, subject_id)
    if found:
        row, machine = found
        _to_received(machine)
        _save(session, row, machine)


def _to_adjudication(machine: Enrollment, data: dict) -> None:
    """Catch up to ADJUDICATION when events overtook each other (RECEIVED may be missing)."""
    _to_received(machine)
    if machine.state is _E.RECEIVED:
        machine.send_to_adjudication(score=float(data.get("score", 0.0)))


def apply_adjudication(session: Session, *, seq: int, kind: str, subject_id: str, data: dict) -> None:
    found = _enrollment(session, subject_id)
    if found:
        row, machine = found
        _to_adjudication(machine, data)
        _save(session, row, machine)


def apply_print_ready(session: Session, *, seq: int, kind: str, subject_id: str, data: dict) -> None:
    """PRR: the enrollment is print-ready and the card row holds central's signed print authorisation."""
    found = _enrollment(session, subject_id)
    if not found:
        return
    row, machine = found
    token = data["authorisation"]
    card_data = data["_card"] if "_card" in data else _unverified(token)
    _to_received(machine)
    if machine.state in (_E.RECEIVED, _E.ADJUDICATION):
        machine.mark_print_ready(authorisation_id=str(card_data["card_id"]))
    elif machine.state is _E.DUPLICATE:
        machine.keep_after_resolution(case_id=str(data.get("case_id", "")))
    _save(session, row, machine)
    card = session.scalars(select(CardRow).where(CardRow.enrollment_id == row.id)).first()
    if card is None:
        c = Card(id=str(card_data["card_id"]))
        c.authorise(authorisation_id=str(card_data["card_id"]))
        session.add(CardRow(id=c.id, enrollment_id=row.id, resident_id=row.resident_id, state=c.state.value,
                            authorisation=token))
        _record(session, c.events)
    elif card.state in (CardState.AUTHORISED.value, CardState.PRINT_READY.value):
        card.authorisation = token
        card.state = CardState.AUTHORISED.value


def _unverified(token: str) -> dict:
    import json

    from ktpel.sync import crypto

    parts = token.split(".")
    if len(parts) != 4 or parts[0] != authorisation.PREFIX:
        raise authorisation.InvalidAuthorisation("format")
    return json.loads(crypto.b64d(parts[1]))


def apply_duplicate(session: Session, *, seq: int, kind: str, subject_id: str, data: dict) -> None:
    """DUP (data ganda): the resident must come with the family card to choose the record that stays."""
    found = _enrollment(session, subject_id)
    if found:
        row, machine = found
        _to_adjudication(machine, data)
        if machine.state is _E.ADJUDICATION:
            machine.mark_duplicate(other_enrollment_id=str(data.get("other_enrollment_id", "")))
        _save(session, row, machine)


def apply_failed(session: Session, *, seq: int, kind: str, subject_id: str, data: dict) -> None:
    """EFAC: central could not use the recording (e.g. quality); the resident records again."""
    found = _enrollment(session, subject_id)
    if found:
        row, machine = found
        _to_received(machine)
        if machine.state is _E.RECEIVED:
            machine.fail(reason=str(data.get("reason", "")))
            row.failure_reason = str(data.get("reason", ""))
        _save(session, row, machine)


def apply_announcement(session: Session, *, seq: int, kind: str, subject_id: str, data: dict) -> None:
    import datetime as dt

    ann_id = int(data["id"])
    row = session.get(OfficeAnnouncementRow, ann_id) or OfficeAnnouncementRow(id=ann_id)
    row.starts_at = dt.datetime.fromisoformat(data["starts_at"])
    row.ends_at = dt.datetime.fromisoformat(data["ends_at"]) if data.get("ends_at") else None
    row.message_id = data.get("message_id", "")
    row.message_en = data.get("message_en", "")
    row.received_at = utcnow()
    session.merge(row)


def apply_revocation(session: Session, *, seq: int, kind: str, subject_id: str, data: dict) -> None:
    """The other record of a resolved duplicate: its card is blocked (diblokir)."""
    enrollment_id = data.get("enrollment_id", subject_id)
    card = session.scalars(select(CardRow).where(CardRow.enrollment_id == enrollment_id)).first()
    if card is None and data.get("card_id"):
        card = session.get(CardRow, data["card_id"])
    if card is not None and card.state != CardState.REVOKED.value:
        c = Card(id=card.id, state=CardState(card.state))
        c.revoke(reason=str(data.get("reason", "")))
        card.state = c.state.value
        _record(session, c.events)


def apply_events(db: Database, *, events: list[dict], central_keys: dict | None = None) -> int:
    """Apply events in sequence order, one transaction each; returns how many were newly applied."""
    applied = 0
    for event in sorted(events, key=lambda e: e["seq"]):
        with db.unit_of_work() as s:
            row = link(s)
            if event["seq"] <= row.event_cursor:
                continue  # already applied: idempotent on re-delivery
            if event["seq"] != row.event_cursor + 1:
                log.warning("event gap: cursor %s, got %s", row.event_cursor, event["seq"])
                break
            data = dict(event.get("data") or {})
            if central_keys is not None and event["kind"] == "enrollment.print_ready":
                try:
                    # verified once here; the handler takes the signed card from `_card`
                    data["_card"] = authorisation.verify(str(data.get("authorisation", "")),
                                                         public_keys=central_keys)
                except authorisation.InvalidAuthorisation as exc:
                    # never print from a token we cannot verify; record it and keep the stream moving
                    log.error("event %s: %s", event["seq"], exc.message_en)
                    s.add(DomainEventRow(name="sync.event_refused", subject_id=str(event["subject_id"])[:40],
                                         data={"seq": event["seq"], "kind": event["kind"], "reason": exc.reason}))
                    row.event_cursor = event["seq"]
                    continue
            for path in HANDLERS.get(event["kind"], []):
                resolve(path)(s, seq=event["seq"], kind=event["kind"], subject_id=event["subject_id"],
                               data=data if path.startswith("ktpel.sync.") else event.get("data") or {})
            row.event_cursor = event["seq"]
        applied += 1
    return applied
