"""Demo step: central accepts a loan of blanks from Lampung Selatan to the shortest regency of the province."""

from __future__ import annotations

from sqlalchemy import select

DEMO_LOAN = 25


def loan_demo(*, settings, office_db, console) -> list:  # noqa: ANN001
    """Once: central learns the office's demo batch, proposes loans, accepts one (the sync agent moves serials)."""
    from ktpel.central.allocation import loans
    from ktpel.demo.printing import DEMO_BATCH
    from ktpel.reference import regions
    from ktpel.store.db import open_database
    from ktpel.store.schema.loans import BlankLoanRow
    from ktpel.store.schema.printing import BlankAllocationRow

    reg = regions(settings.resolved_shared_data())
    names = {r.code: r.name for r in reg.children("18")}
    central_db = open_database(settings, name="central")
    try:
        with central_db.unit_of_work() as s:
            if s.scalar(select(BlankLoanRow.id).where(BlankLoanRow.accepted_by == "admin-pusat.demo")):
                return []
            if not s.scalar(select(BlankAllocationRow.id).where(BlankAllocationRow.plan_id == "demo")):
                # the batch the demo office booked in (prepare_printing) as central's allocation of it
                s.add(BlankAllocationRow(plan_id="demo", regency_code=settings.office_regency,
                                         blanks=DEMO_BATCH["count"], first_serial=DEMO_BATCH["first_serial"],
                                         last_serial=DEMO_BATCH["last_serial"], backlog=0, urgent=0, on_hand=0,
                                         published=True, created_by="demo"))
                s.flush()
            stocks = {r.code: r for r in loans.regency_stocks(s, names=names)}
            short = sorted((r for r in stocks.values() if r.short and r.code != settings.office_regency),
                           key=lambda r: -r.short)
            if not short or settings.office_regency not in stocks:
                return []
            lender = stocks[settings.office_regency]
            count = min(DEMO_LOAN, lender.on_hand)
            loan = loans.accept_loan(s, lender_code=lender.code, borrower_code=short[0].code, count=count,
                                     actor="admin-pusat.demo", names=names)
            console.print(f"[green]✓[/green] pinjaman blanko {loan.id}: {count} dari {lender.name} ke "
                          f"{short[0].name} (kurang {short[0].short}) · pusat /alokasi-blanko/pinjaman · "
                          "kantor /blanko (nomor seri keluar saat agen sinkron menarik event)")
    finally:
        central_db.dispose()
    return []
