"""Blank loans between regencies of one province: central proposes and accepts, the offices move the serials.

1. Central proposes loans from each regency's stock as central sees it (published allocations − printed
   reports − lent + borrowed) against its print-ready backlog, and an administrator accepts one: the loan
   is refused when it exceeds the lender's stock; else it is recorded ACCEPTED and the lender office gets
   `blanks.loan_out`.
2. The lender office takes that many AVAILABLE blanks out of its ledger (RETURNED, in one transaction) and
   reports the exact serials in a `blanks.lent` packet; none at all if its ledger holds fewer.
3. Central records the serials (SHIPPED) and sends the borrower `blanks.loan_in`; the borrower books exactly
   those serials in. Each ledger balances at every step (received = used + spoiled + returned + available).
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ktpel.domain.errors import NotFound
from ktpel.domain.events import utcnow
from ktpel.domain.loans import LoanProposal, LoanState, RegencyStock, check_loan, propose_loans
from ktpel.security.audit import record_audit
from ktpel.store.schema.loans import BlankLoanRow


def _moved(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    """Blanks lent out and borrowed in per regency (refused loans moved nothing)."""
    live = BlankLoanRow.state != LoanState.REFUSED.value
    out = dict(session.execute(select(BlankLoanRow.lender_code, func.sum(BlankLoanRow.count)).where(live)
                               .group_by(BlankLoanRow.lender_code)).all())
    into = dict(session.execute(select(BlankLoanRow.borrower_code, func.sum(BlankLoanRow.count))
                                .where(BlankLoanRow.state == LoanState.SHIPPED.value)
                                .group_by(BlankLoanRow.borrower_code)).all())
    return {k: int(v or 0) for k, v in out.items()}, {k: int(v or 0) for k, v in into.items()}


def regency_stocks(session: Session, *, names: dict[str, str] | None = None) -> list[RegencyStock]:
    """Each regency's stock on hand and PRR backlog as central knows them, loans included."""
    from ktpel.central.allocation.service import needs_from_database

    lent, borrowed = _moved(session)
    return [RegencyStock(code=n.code, name=n.name, backlog=n.backlog,
                         on_hand=max(0, n.on_hand - lent.get(n.code, 0) + borrowed.get(n.code, 0)))
            for n in needs_from_database(session, names=names)]


def proposals(session: Session, *, names: dict[str, str] | None = None) -> list[LoanProposal]:
    return propose_loans(regency_stocks(session, names=names))


def accept_loan(session: Session, *, lender_code: str, borrower_code: str, count: int, actor: str,
                names: dict[str, str] | None = None) -> BlankLoanRow:
    """Accept a loan (proposed or typed in); refused when larger than the lender's stock. Audited."""
    stocks = {s.code: s for s in regency_stocks(session, names=names)}
    lender = stocks.get(lender_code) or RegencyStock(code=lender_code, name=lender_code, on_hand=0, backlog=0)
    check_loan(lender=lender, borrower_code=borrower_code, count=count)
    loan = BlankLoanRow(id="L" + uuid.uuid4().hex[:11], lender_code=lender_code, borrower_code=borrower_code,
                        count=count, state=LoanState.ACCEPTED.value, serials=[], accepted_by=actor,
                        accepted_at=utcnow())
    session.add(loan)
    session.flush()
    from ktpel.central.sync.events import publish

    publish(session, office_code=lender_code, kind="blanks.loan_out", subject_id=loan.id,
            data={"loan_id": loan.id, "borrower_code": borrower_code, "count": count})
    record_audit(session, actor=actor, action="blanks.loan_accepted", subject=f"loan:{loan.id}",
                 after={"lender": lender_code, "borrower": borrower_code, "count": count,
                        "lender_stock": lender.on_hand})
    return loan


def record_lent(session: Session, *, packet_id: str, office_code: str, kind: str, subject_id: str,
                payload: dict, context: object = None) -> None:
    """Intake handler (`blanks.lent`): the lender shipped these serials, or none when its ledger was short."""
    loan = session.get(BlankLoanRow, str(payload.get("loan_id") or subject_id))
    if loan is None or loan.lender_code != office_code or loan.state != LoanState.ACCEPTED.value:
        return  # a packet delivered twice, or for a loan that is not this office's: nothing to do
    serials = [str(s) for s in payload.get("serials") or []]
    if not serials or len(serials) != loan.count:
        loan.state, loan.note = LoanState.REFUSED.value, str(payload.get("reason") or "lender short")[:500]
        return
    loan.state, loan.serials, loan.shipped_packet_id, loan.shipped_at = (LoanState.SHIPPED.value, serials,
                                                                          packet_id, utcnow())
    from ktpel.central.sync.events import publish

    publish(session, office_code=loan.borrower_code, kind="blanks.loan_in", subject_id=loan.id,
            data={"loan_id": loan.id, "lender_code": loan.lender_code, "serials": serials})


def loans(session: Session, *, limit: int = 50) -> list[BlankLoanRow]:
    return list(session.scalars(select(BlankLoanRow).order_by(BlankLoanRow.accepted_at.desc()).limit(limit)))


def get_loan(session: Session, *, loan_id: str) -> BlankLoanRow:
    row = session.get(BlankLoanRow, loan_id)
    if row is None:
        raise NotFound("Pinjaman tidak ditemukan.", f"No loan {loan_id}.")
    return row
