"""Office side of blank loans between regencies (see ktpel.central.allocation.loans): lend, then receive."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from ktpel.domain import clock
from ktpel.domain.blanks import BlankState
from ktpel.office.printing import ledger
from ktpel.security.audit import record_audit
from ktpel.store.schema.printing import BlankBatchRow, BlankMovementRow, BlankRow
from ktpel.sync.wiring import HandlerContext


def apply_loan_out(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                   data: dict) -> None:
    """`blanks.loan_out`: take `count` AVAILABLE blanks out of this ledger and report their serials, or none."""
    from ktpel.office.sync.outbox import enqueue_packet

    loan_id, count = str(data["loan_id"]), int(data["count"])
    free = list(session.scalars(select(BlankRow.serial).where(BlankRow.state == BlankState.AVAILABLE.value,
                                                              BlankRow.reserved_for.is_(None))
                                .order_by(BlankRow.serial).limit(count).with_for_update()))
    if len(free) < count:
        enqueue_packet(session, kind="blanks.lent", subject_id=loan_id, payload={
            "loan_id": loan_id, "serials": [], "reason": f"only {len(free)} of {count} blanks available"})
        record_audit(session, actor="pusat", action="blanks.loan_short", subject=f"loan:{loan_id}",
                     after={"asked": count, "available": len(free)})
        return
    for serial in free:
        ledger.return_blank(session, serial=serial, actor=f"pinjaman:{loan_id}")
    enqueue_packet(session, kind="blanks.lent", subject_id=loan_id, payload={
        "loan_id": loan_id, "serials": free, "borrower_code": data.get("borrower_code")})
    record_audit(session, actor="pusat", action="blanks.lent", subject=f"loan:{loan_id}",
                 after={"count": count, "borrower": data.get("borrower_code"), "first": free[0], "last": free[-1]})


def apply_loan_in(session: Session, *, context: HandlerContext, seq: int, kind: str, subject_id: str,
                  data: dict) -> None:
    """`blanks.loan_in`: book exactly the lent serials in, once (a second delivery is a no-op)."""
    loan_id, serials = str(data["loan_id"]), [str(s) for s in data.get("serials") or []]
    ref = f"loan:{loan_id}"
    if not serials or session.scalar(select(BlankBatchRow.id).where(BlankBatchRow.allocation_ref == ref)):
        return
    now, batch_id = context.clock(), "B" + uuid.uuid4().hex[:15]
    session.add(BlankBatchRow(id=batch_id, first_serial=min(serials), last_serial=max(serials), count=len(serials),
                              source="loan", allocation_ref=ref, received_by=f"pinjaman:{data.get('lender_code')}",
                              received_at=now))
    session.flush()
    session.execute(BlankRow.__table__.insert(), [
        {"serial": s, "batch_id": batch_id, "state": BlankState.AVAILABLE.value, "changed_at": now} for s in serials])
    session.execute(BlankMovementRow.__table__.insert(), [
        {"serial": s, "from_state": None, "to_state": BlankState.AVAILABLE.value, "actor": f"pinjaman:{loan_id}",
         "day": clock.wib_date(now), "at": now, "card_id": None, "reason": None} for s in serials])
    record_audit(session, actor="pusat", action="blanks.borrowed", subject=f"loan:{loan_id}",
                 after={"count": len(serials), "lender": data.get("lender_code")})


__all__ = ["apply_loan_in", "apply_loan_out"]
