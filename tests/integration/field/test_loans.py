"""Blank loans between regencies, on SQLite and PostgreSQL: central proposes and accepts, the lender's ledger
gives exactly the serials the borrower's ledger books in, both ledgers balance, and refusals write nothing."""

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from ktpel.central.allocation import loans
from ktpel.domain.loans import LoanRefused, RegencyStock, propose_loans
from ktpel.office.printing import ledger
from ktpel.office.printing import loans as office_loans
from ktpel.store.schema.central import NationalRecordRow
from ktpel.store.schema.loans import BlankLoanRow
from ktpel.store.schema.printing import BlankAllocationRow
from ktpel.store.schema.sync import CentralEventRow, OutboxRow
from ktpel.sync.wiring import HandlerContext


def test_proposals_pair_spare_and_short_within_a_province():
    stocks = [RegencyStock("18.01", "A", on_hand=100, backlog=40), RegencyStock("18.02", "B", on_hand=5, backlog=50),
              RegencyStock("18.03", "C", on_hand=30, backlog=10), RegencyStock("31.71", "D", on_hand=0, backlog=90)]
    got = [(p.lender.code, p.borrower.code, p.count) for p in propose_loans(stocks)]
    assert got == [("18.01", "18.02", 45)]  # 18.01 spares 60; Jakarta is short but in another province
    stocks[0] = RegencyStock("18.01", "A", on_hand=60, backlog=40)
    assert [(p.lender.code, p.count) for p in propose_loans(stocks)] == [("18.01", 20), ("18.03", 20)]


def _central_seed(db):
    with db.unit_of_work() as s:
        s.add(BlankAllocationRow(plan_id="P1", regency_code="18.01", blanks=6, first_serial="KTP-000000001",
                                 last_serial="KTP-000000006", backlog=0, urgent=0, on_hand=0, published=True,
                                 created_by="admin"))
        for i in range(4):
            s.add(NationalRecordRow(id=f"E{i}", packet_id=f"p{i}", office_code="18.02", nik=f"18020101900{i:05d}",
                                    name="X", birth_place="Y", birth_date=dt.date(1990, 1, 1), sex="L", street="Z",
                                    templates="{}", state="PRINT_READY"))


def _events(db, office, kind):
    with db.unit_of_work() as s:
        return [json.loads(e.data) for e in s.scalars(select(CentralEventRow).where(
            CentralEventRow.office_code == office, CentralEventRow.kind == kind))]


def test_accepted_loan_moves_serials_through_both_ledgers(settings, db, other_db):
    central = lender = db  # central's tables and the lender's ledger live side by side in this database
    borrower = other_db
    _central_seed(central)
    with lender.unit_of_work() as s:
        ledger.receive_batch(s, first_serial="KTP-000000001", last_serial="KTP-000000006", actor="pusat",
                             source="central", allocation_ref="P1:18.01")
    with central.unit_of_work() as s:
        (proposal,) = loans.proposals(s)
        assert (proposal.lender.code, proposal.borrower.code, proposal.count) == ("18.01", "18.02", 4)
        loan_id = loans.accept_loan(s, lender_code="18.01", borrower_code="18.02", count=4, actor="admin").id
    (event,) = _events(central, "18.01", "blanks.loan_out")
    with lender.unit_of_work() as s:
        office_loans.apply_loan_out(s, context=HandlerContext(settings=settings),
                                    seq=1, kind="blanks.loan_out", subject_id=loan_id, data=event)
    with lender.unit_of_work() as s:
        packet = json.loads(s.scalars(select(OutboxRow).where(OutboxRow.kind == "blanks.lent")).one().content)
        balance = ledger.reconcile(s)
        assert (balance.received, balance.returned, balance.available, balance.balanced) == (6, 4, 2, True)
    lent = packet["payload"]["serials"]
    assert lent == [f"KTP-00000000{i}" for i in range(1, 5)]
    with central.unit_of_work() as s:
        loans.record_lent(s, packet_id="pk1", office_code="18.01", kind="blanks.lent", subject_id=loan_id,
                          payload=packet["payload"])
        loans.record_lent(s, packet_id="pk1", office_code="18.01", kind="blanks.lent", subject_id=loan_id,
                          payload=packet["payload"])  # delivered twice: no second event
        assert s.get(BlankLoanRow, loan_id).state == "SHIPPED"
        stock = {r.code: r.on_hand for r in loans.regency_stocks(s)}
        assert stock == {"18.01": 2, "18.02": 4}
    (incoming,) = _events(central, "18.02", "blanks.loan_in")
    for _ in range(2):  # a second delivery of the event books nothing twice
        with borrower.unit_of_work() as s:
            office_loans.apply_loan_in(s, context=HandlerContext(settings=settings),
                                       seq=1, kind="blanks.loan_in", subject_id=loan_id, data=incoming)
    with borrower.unit_of_work() as s:
        balance = ledger.reconcile(s)
        assert (balance.received, balance.available, balance.balanced) == (4, 4, True)
        assert ledger.reserve_blank(s, card_id="C1") in lent


def test_loan_larger_than_the_lenders_stock_is_refused_and_nothing_written(db):
    _central_seed(db)
    with pytest.raises(LoanRefused) as exc:
        with db.unit_of_work() as s:
            loans.accept_loan(s, lender_code="18.01", borrower_code="18.02", count=7, actor="admin")
    assert exc.value.code == "loan_exceeds_stock" and "melebihi stok" in exc.value.message_id
    with pytest.raises(LoanRefused) as exc:
        with db.unit_of_work() as s:
            loans.accept_loan(s, lender_code="18.01", borrower_code="31.71", count=1, actor="admin")
    assert exc.value.code == "loan_province"
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(BlankLoanRow)) == 0
        assert s.scalar(select(func.count()).select_from(CentralEventRow)) == 0


def test_lender_ledger_short_refuses_the_loan_and_keeps_its_blanks(settings, db):
    _central_seed(db)
    with db.unit_of_work() as s:
        ledger.receive_batch(s, first_serial="KTP-000000001", last_serial="KTP-000000002", actor="pusat")
        loan_id = loans.accept_loan(s, lender_code="18.01", borrower_code="18.02", count=3, actor="admin").id
    (event,) = _events(db, "18.01", "blanks.loan_out")
    with db.unit_of_work() as s:
        office_loans.apply_loan_out(s, context=HandlerContext(settings=settings),
                                    seq=1, kind="blanks.loan_out", subject_id=loan_id, data=event)
    with db.unit_of_work() as s:
        assert ledger.reconcile(s).available == 2
        packet = json.loads(s.scalars(select(OutboxRow).where(OutboxRow.kind == "blanks.lent")).one().content)
        loans.record_lent(s, packet_id="pk", office_code="18.01", kind="blanks.lent", subject_id=loan_id,
                          payload=packet["payload"])
        assert s.get(BlankLoanRow, loan_id).state == "REFUSED"
    assert _events(db, "18.02", "blanks.loan_in") == []


def test_central_loan_page_proposes_and_refuses_an_oversized_loan(db, settings):
    from ktpel.security.access import Role
    from ktpel.web.app import create_app
    from tests.auth_fixtures import authed_client

    _central_seed(db)
    app = create_app(settings=settings, side="central", db=db)
    admin = authed_client(app, db, Role.CENTER_ADMIN)
    page = admin.get("/alokasi-blanko/pinjaman")
    assert page.status_code == 200 and 'name="pemberi" value="18.01"' in page.text
    refused = admin.post("/alokasi-blanko/pinjaman", data={"csrf_token": admin.csrf, "pemberi": "18.01",
                                                           "penerima": "18.02", "jumlah": "9"})
    assert refused.status_code == 409 and "melebihi stok" in refused.text
    ok = admin.post("/alokasi-blanko/pinjaman", data={"csrf_token": admin.csrf, "pemberi": "18.01",
                                                      "penerima": "18.02", "jumlah": "4"}, follow_redirects=False)
    assert ok.status_code == 303
    with db.unit_of_work() as s:
        assert s.scalars(select(BlankLoanRow)).one().count == 4
