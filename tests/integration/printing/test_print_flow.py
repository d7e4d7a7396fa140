"""Printing one card on one blank, on SQLite and PostgreSQL: the happy path and every refusal."""

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from ktpel.domain.clock import today_wib
from ktpel.domain.blanks import BlankUnavailable, NoBlankAvailable, UnknownSerial
from ktpel.office.printing import ledger, service
from ktpel.office.printing.drivers import PrintingConfig
from ktpel.store.schema.core import CardRow
from ktpel.store.schema.printing import BlankRow, PrintJobRow
from tests.integration.printing.conftest import pdf_content

REG = "18.01"


@pytest.fixture
def config(settings):
    return PrintingConfig(spool_dir=settings.data_dir / "spool", specimen=True)


def receive(db, first="LS26-000001", last="LS26-000010"):
    with db.unit_of_work() as s:
        return service.receive_blanks(s, first_serial=first, last_serial=last, actor="kepala").id


def present(db, card_id, *classes):
    with db.unit_of_work() as s:
        service.mark_present(s, card_id=card_id, regency_code=REG, actor="op", classes=list(classes),
                             policy=service.current_policy())


def start(db, settings, config, card_id, **kw):
    with db.unit_of_work() as s:
        return service.start_print(s, card_id=card_id, regency_code=REG, settings=settings, actor="op",
                                   config=config, **kw)


def test_print_confirm_binds_one_blank_and_reports_to_central(db, settings, office, config):
    receive(db)
    card_id = office.card()
    present(db, card_id)
    job = start(db, settings, config, card_id)
    pdf = (settings.data_dir / "spool" / f"{job.id}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    drawn = pdf_content(pdf)
    assert "SPECIMEN" in drawn and "SEUMUR HIDUP" in drawn and "KABUPATEN LAMPUNG SELATAN" in drawn
    with db.unit_of_work() as s:
        service.confirm_printed(s, job_id=job.id, regency_code=REG, actor="op")
    with db.unit_of_work() as s:
        card = s.get(CardRow, card_id)
        blank = s.get(BlankRow, job.blank_serial)
        assert (card.state, card.blank_serial) == ("PRINTED", job.blank_serial)
        assert (blank.state, blank.card_id) == ("USED", card_id)
        from ktpel.store.schema.sync import OutboxRow

        packet = s.scalars(select(OutboxRow).where(OutboxRow.kind == "card.printed")).one()
        assert packet.subject_id == card_id and job.blank_serial in packet.content
        assert ledger.reconcile(s).balanced
        # the card left the queue
        assert service.print_queue(s, regency_code=REG, policy=service.current_policy()).entries == []


def test_spoiled_print_sends_blank_to_spoiled_ledger_and_card_stays_authorised(db, settings, office, config):
    receive(db)
    card_id = office.card()
    present(db, card_id)
    job = start(db, settings, config, card_id)
    with db.unit_of_work() as s:
        service.confirm_spoiled(s, job_id=job.id, regency_code=REG, reason="jam", actor="op")
    with db.unit_of_work() as s:
        assert s.get(CardRow, card_id).state == "AUTHORISED"
        assert (s.get(BlankRow, job.blank_serial).state, s.get(BlankRow, job.blank_serial).reason) == \
            ("SPOILED", "jam")
        balance = ledger.day_balance(s, day=today_wib())
        assert (balance.received, balance.spoiled, balance.closing, balance.balanced) == (10, 1, 9, True)
        assert balance.spoiled_by_reason == {"jam": 1}
    job2 = start(db, settings, config, card_id)
    assert job2.blank_serial != job.blank_serial
    with db.unit_of_work() as s:
        with pytest.raises(service.JobNotOpen):
            service.confirm_printed(s, job_id=job.id, regency_code=REG, actor="op")


def test_printed_card_found_faulty_goes_back_to_authorised(db, settings, office, config):
    receive(db)
    card_id = office.card()
    present(db, card_id)
    job = start(db, settings, config, card_id)
    with db.unit_of_work() as s:
        service.confirm_printed(s, job_id=job.id, regency_code=REG, actor="op")
    with db.unit_of_work() as s:
        service.spoil_printed_card(s, card_id=card_id, regency_code=REG, reason="misprint", actor="op")
    with db.unit_of_work() as s:
        card = s.get(CardRow, card_id)
        assert (card.state, card.blank_serial) == ("AUTHORISED", None)
        r = ledger.reconcile(s)
        assert (r.used, r.spoiled, r.available, r.balanced) == (0, 1, 9, True)


def test_refusals_say_why(db, settings, office, config):
    card_id = office.card()
    with pytest.raises(service.NotPresent):
        start(db, settings, config, card_id)
    present(db, card_id)
    with pytest.raises(NoBlankAvailable):  # printing without a blank
        start(db, settings, config, card_id)
    receive(db, "LS26-000001", "LS26-000003")
    with pytest.raises(UnknownSerial):
        start(db, settings, config, card_id, serial="LS26-000099")
    other = office.card()
    present(db, other)
    job = start(db, settings, config, other, serial="LS26-000001")
    with db.unit_of_work() as s:
        service.confirm_printed(s, job_id=job.id, regency_code=REG, actor="op")
    with pytest.raises(BlankUnavailable) as used:  # a used serial
        start(db, settings, config, card_id, serial="LS26-000001")
    assert "terpakai" in used.value.message_id
    with pytest.raises(service.NotAuthorised):  # printed already
        start(db, settings, config, other)
    with pytest.raises(service.NotAuthorised):  # print-ready but no authorisation yet
        present(db, office.card(state="PRINT_READY", token=""))
    revoked = office.card(state="REVOKED")
    with pytest.raises(service.CardRevoked):
        start(db, settings, config, revoked)
    duplicate = office.card(revoked=True)  # the resident's other record was kept (data ganda resolved)
    with pytest.raises(service.CardRevoked):
        present(db, duplicate)
    with db.unit_of_work() as s:
        assert ledger.reconcile(s).balanced


def test_a_forged_authorisation_does_not_print(db, settings, office, config):
    from ktpel.sync.authorisation import InvalidAuthorisation

    receive(db)
    good = office.card()
    with db.unit_of_work() as s:
        token = s.get(CardRow, good).authorisation
    head, payload, kid, sig = token.split(".")
    forged = office.card(token=".".join([head, payload, kid, sig[:-4] + "AAAA"]))
    present(db, forged)
    with pytest.raises(InvalidAuthorisation):
        start(db, settings, config, forged)
    with db.unit_of_work() as s:  # nothing reserved
        assert s.scalar(select(BlankRow).where(BlankRow.reserved_for.is_not(None))) is None


def test_head_may_allow_printing_without_presence(db, settings, office, config):
    receive(db)
    card_id = office.card()
    with db.unit_of_work() as s:
        service.set_present_only(s, enabled=False, actor="kadis")
    job = start(db, settings, config, card_id)
    assert job.state == "SENT"
    with db.unit_of_work() as s:
        from ktpel.security.audit import search_audit, AuditQuery

        entries, _ = search_audit(s, query=AuditQuery(action="printing.present_only"))
        assert entries and entries[0].actor == "kadis"


def test_urgent_reserve_holds_back_the_last_blanks(db, settings, office, config):
    receive(db, "LS26-000001", "LS26-000002")  # reserve = ceil(0.15 * 2) = 1
    plain, urgent, plain2 = office.card(), office.card(), office.card()
    present(db, plain)
    present(db, urgent, "health")
    present(db, plain2)
    job = start(db, settings, config, plain)
    with db.unit_of_work() as s:
        service.confirm_printed(s, job_id=job.id, regency_code=REG, actor="op")
    with pytest.raises(service.ReservedForUrgent):
        start(db, settings, config, plain2)
    assert start(db, settings, config, urgent).state == "SENT"


def test_queue_order_follows_the_policy(db, settings, office, config):
    receive(db, "LS26-000001", "LS26-000050")
    first, health, elder = office.card(), office.card(), office.card(birth_date=dt.date(1950, 3, 3))
    present(db, first)
    present(db, elder)
    present(db, health, "health")
    office.card()  # authorised but not at the counter
    with db.unit_of_work() as s:
        view = service.print_queue(s, regency_code=REG, policy=service.current_policy())
    assert [e.ranked.candidate.card_id for e in view.entries] == [health, elder, first]
    assert view.waiting_not_present == 1 and view.stock.available == 50
    # an appointment counts from its day on, not before
    today = today_wib()
    booked, later = office.card(), office.card()
    with db.unit_of_work() as s:
        for card_id, day in ((booked, today), (later, today + dt.timedelta(days=2))):
            service.mark_present(s, card_id=card_id, regency_code=REG, actor="op", classes=[], via="appointment",
                                 appointment_on=day, policy=service.current_policy())
    with db.unit_of_work() as s:
        view = service.print_queue(s, regency_code=REG, policy=service.current_policy())
    ids = [e.ranked.candidate.card_id for e in view.entries]
    assert booked in ids and later not in ids
    with pytest.raises(service.NotPresent):
        start(db, settings, config, later)


def test_two_operators_cannot_take_the_last_blank(db, settings, office, config):
    receive(db, "LS26-000001", "LS26-000001")
    with db.unit_of_work() as s:
        service.set_present_only(s, enabled=False, actor="kadis")
        s.execute(BlankRow.__table__.update().values(state="AVAILABLE"))
    cards = [office.card(name=f"WARGA {i}") for i in range(6)]
    # the urgent reserve would refuse plain classes on the last blank: mark them all urgent
    for c in cards:
        present(db, c, "health")
    barrier = threading.Barrier(len(cards))
    results: list = []

    def operator(card_id):
        barrier.wait()
        try:
            results.append(("ok", start(db, settings, config, card_id).blank_serial))
        except NoBlankAvailable as exc:
            results.append(("refused", exc.code))

    threads = [threading.Thread(target=operator, args=(c,)) for c in cards]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r[0] for r in results) == ["ok"] + ["refused"] * 5
    with db.unit_of_work() as s:
        assert s.scalar(select(BlankRow.reserved_for)) in cards
        assert len(s.scalars(select(PrintJobRow)).all()) == 1


def test_many_operators_never_share_a_blank(db, settings, office, config):
    receive(db, "LS26-000001", "LS26-000008")
    with db.unit_of_work() as s:
        service.set_present_only(s, enabled=False, actor="kadis")
    cards = [office.card(name=f"WARGA {i}") for i in range(8)]
    for c in cards:
        present(db, c, "health")
    barrier = threading.Barrier(len(cards))
    got: list[str] = []

    def operator(card_id):
        barrier.wait()
        got.append(start(db, settings, config, card_id).blank_serial)

    threads = [threading.Thread(target=operator, args=(c,)) for c in cards]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == 8 and len(set(got)) == 8
