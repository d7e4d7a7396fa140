"""Office side: remember the officers' outcome code of each central decision (see ktpel.domain.outcomes)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.domain.outcomes import OUTCOMES, Outcome, classify
from ktpel.store.schema.core import EnrollmentRow
from ktpel.store.schema.outcomes import EnrollmentOutcomeRow
from ktpel.sync.wiring import HandlerContext


def record_outcome(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                   data: dict) -> None:
    """Event handler (print_ready, adjudication, duplicate, failed): the latest outcome of the enrollment."""
    outcome = classify(kind=kind, data=data)
    if outcome is None or session.get(EnrollmentRow, subject_id) is None:
        return
    detail = {k: data[k] for k in ("other_office_code", "match", "at", "reasons", "reason") if k in data}
    row = session.get(EnrollmentOutcomeRow, subject_id)
    if row is None:
        session.add(EnrollmentOutcomeRow(enrollment_id=subject_id, code=outcome.code, detail=detail,
                                         at=context.clock()))
    else:
        row.code, row.detail, row.at = outcome.code, detail, context.clock()


def latest_outcome(session: Session, *, resident_id: int) -> tuple[Outcome, dict] | None:
    """The outcome of the resident's newest enrollment, if central decided one."""
    # the newest enrollment first, then its outcome: an older recording's outcome (a DUP before a new PRR
    # recording) is not the resident's outcome now
    newest = (select(EnrollmentRow.id).where(EnrollmentRow.resident_id == resident_id)
              .order_by(EnrollmentRow.created_at.desc()).limit(1).scalar_subquery())
    found = session.execute(select(EnrollmentOutcomeRow.code, EnrollmentOutcomeRow.detail)
                            .where(EnrollmentOutcomeRow.enrollment_id == newest)).first()
    if found is None or found[0] not in OUTCOMES:
        return None
    return OUTCOMES[found[0]], dict(found[1] or {})


def resident_panel(session: Session, *, resident_id: int) -> dict:
    """What the resident's page shows of central's decision (office.composition.RESIDENT_PANELS)."""
    return {"outcome": latest_outcome(session, resident_id=resident_id)}
