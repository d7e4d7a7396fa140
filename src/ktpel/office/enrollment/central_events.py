"""The office enrollment's reaction to central's events: TERIMA, ADJ, PRR, DUP, EFAC, and SFE on a receipt.

Registered in `ktpel.office.composition`; sync delivers each event in order, exactly once, and runs
these in the transaction that advances its cursor. The Enrollment machine decides every transition;
the repository saves state, events and an audit entry (actor `sync:central`).
"""

from __future__ import annotations

import json
import logging

from sqlalchemy.orm import Session

from ktpel.domain.enrollment import Enrollment, EnrollmentState
from ktpel.office.enrollment.repository import Enrollments
from ktpel.sync import authorisation
from ktpel.keys import crypto
from ktpel.sync.wiring import HandlerContext

log = logging.getLogger("ktpel.office.enrollment")

ACTOR = "sync:central"
_E = EnrollmentState


def _load(session: Session, subject_id: str) -> tuple[Enrollments, Enrollment] | None:
    repo = Enrollments(session)
    machine = repo.get(subject_id)
    if machine is None:
        log.warning("event for unknown enrollment %s ignored", subject_id)
        return None
    return repo, machine


def _to_received(machine: Enrollment) -> None:
    # events may overtake the receipt (office crashed after central committed): RECEIVED implies sent
    if machine.state in (_E.QUEUED, _E.SENT):
        machine.receive()


def _to_adjudication(machine: Enrollment, data: dict) -> None:
    """Catch up to ADJUDICATION when events overtook each other (RECEIVED may be missing)."""
    _to_received(machine)
    if machine.state is _E.RECEIVED:
        machine.send_to_adjudication(score=float(data.get("score", 0.0)))


def on_received(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                data: dict) -> None:
    """`enrollment.received`: central holds the recording durably (TERIMA)."""
    found = _load(session, subject_id)
    if found:
        repo, machine = found
        _to_received(machine)
        repo.save(machine, actor=ACTOR)


def on_adjudication(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                    data: dict) -> None:
    """`enrollment.adjudication`: a person at central compares it with candidates."""
    found = _load(session, subject_id)
    if found:
        repo, machine = found
        _to_adjudication(machine, data)
        repo.save(machine, actor=ACTOR)


def signed_card(data: dict) -> dict:
    """The card central signed: verified by sync on receipt (`_card`), else read from the token."""
    if "_card" in data:
        return data["_card"]
    parts = str(data["authorisation"]).split(".")
    if len(parts) != 4 or parts[0] != authorisation.PREFIX:
        raise authorisation.InvalidAuthorisation("format")
    return json.loads(crypto.b64d(parts[1]))


def on_print_ready(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                   data: dict) -> None:
    """`enrollment.print_ready` (PRR), also for the record a resident kept after a data-ganda case."""
    found = _load(session, subject_id)
    if not found:
        return
    repo, machine = found
    card = signed_card(data)
    _to_received(machine)
    if machine.state in (_E.RECEIVED, _E.ADJUDICATION):
        machine.mark_print_ready(authorisation_id=str(card["card_id"]))
    elif machine.state is _E.DUPLICATE:
        machine.keep_after_resolution(case_id=str(data.get("case_id", "")))
    repo.save(machine, actor=ACTOR)


def on_duplicate(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                 data: dict) -> None:
    """`enrollment.duplicate` (DUP, data ganda): the resident must come with the family card."""
    found = _load(session, subject_id)
    if found:
        repo, machine = found
        _to_adjudication(machine, data)
        if machine.state is _E.ADJUDICATION:
            machine.mark_duplicate(other_enrollment_id=str(data.get("other_enrollment_id", "")))
        repo.save(machine, actor=ACTOR)


def on_failed(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
              data: dict) -> None:
    """`enrollment.failed` (EFAC): central could not use the recording; the resident records again."""
    found = _load(session, subject_id)
    if found:
        repo, machine = found
        _to_received(machine)
        if machine.state is _E.RECEIVED:
            machine.fail(reason=str(data.get("reason", "")))
            repo.row(machine).failure_reason = str(data.get("reason", ""))
        repo.save(machine, actor=ACTOR)


def on_packet_sent(session: Session, *, kind: str, subject_id: str, receipt: dict) -> None:
    """Central's signed receipt for a recording's packet: the enrollment is SFE (sent for enrollment)."""
    repo = Enrollments(session)
    machine = repo.get(subject_id)
    if machine is not None and machine.state is _E.QUEUED:
        machine.mark_sent(receipt_id=receipt["packet_id"])
        repo.save(machine)
