"""Blank stock at the counter: batches received and blanks sent back, each audited (the ledger counts them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ktpel.office.printing import ledger
from ktpel.security.audit import record_audit


def receive_blanks(session: Session, *, first_serial: str, last_serial: str, actor: str,
                   source_ip: str | None = None):  # noqa: ANN201
    """Book in a batch entered by hand (a delivery from central arrives as an event instead)."""
    batch = ledger.receive_batch(session, first_serial=first_serial, last_serial=last_serial, actor=actor)
    record_audit(session, actor=actor, action="blanks.received", subject=f"batch:{batch.id}",
                 after={"first": batch.first_serial, "last": batch.last_serial, "count": batch.count},
                 source_ip=source_ip)
    return batch


def return_blank(session: Session, *, serial: str, actor: str, source_ip: str | None = None) -> None:
    """Send an unused blank back to central (re-allocation to another regency), audited."""
    ledger.return_blank(session, serial=serial, actor=actor)
    record_audit(session, actor=actor, action="blanks.returned", subject=f"blank:{serial}", source_ip=source_ip)
