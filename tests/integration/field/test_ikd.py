"""IKD activation on SQLite and PostgreSQL: selfie 1:1 with the real engine on real faces (ORL), the officer
QR, a one-time code through the notification outbox, the offline-verifiable credential, and refusals; the
report to central through real sync (counted once), and the count on both dashboards."""

import datetime as dt
import json
import re

import pytest
from sqlalchemy import func, select

from ktpel.biometrics import get_engine
from ktpel.domain.events import utcnow
from ktpel.domain.ikd import IkdRefused
from ktpel.office.ikd import service
from ktpel.office.public.service import verify_card
from ktpel.store.schema.core import CardRow, EnrollmentRow, ResidentRow
from ktpel.store.schema.ikd import IkdActivationRow
from ktpel.store.schema.notify import NotifyMessageRow
from ktpel.store.schema.sync import OutboxRow
from tests.integration.sync.conftest import (  # noqa: F401 - fixtures: central side and the link
    central_client, central_db, central_settings, linked, office_settings,
)


@pytest.fixture
def faces(shared_data):
    return shared_data / "faces" / "att_orl"


def _enrol(db, office, faces) -> str:
    image = (faces / "s7" / "1.pgm").read_bytes()
    card_id = office.card(captures={"face": (image, get_engine().extract_face(image).to_bytes())})
    with db.unit_of_work() as s:
        return s.get(ResidentRow, s.get(CardRow, card_id).resident_id).nik


@pytest.fixture
def enrolled(db, office, faces):
    return _enrol(db, office, faces)


def start(db, settings, nik, **kw):
    args = {"phone": "0812-3456-7890", "email": "siti@example.org", "consent": True, **kw}
    with db.unit_of_work() as s:
        return service.start_activation(s, settings=settings, nik=nik, actor="op1", **args).id


def code_sent(db, activation_id):
    with db.unit_of_work() as s:
        resident_id = s.get(IkdActivationRow, activation_id).resident_id
        rows = s.scalars(select(NotifyMessageRow).where(NotifyMessageRow.resident_id == resident_id,
                                                        NotifyMessageRow.trigger == "ikd_code")
                         .order_by(NotifyMessageRow.created_at)).all()
        return json.loads(rows[-1].variables)["kode"]


def activate(db, settings, nik, faces):
    aid = start(db, settings, nik)
    result = service.submit_selfie(db, settings=settings, activation_id=aid, image=(faces / "s7" / "4.pgm").read_bytes(),
                                   actor="op1")
    with db.unit_of_work() as s:
        service.scan_officer_qr(s, settings=settings, nonce=result.qr_nonce)
    code = code_sent(db, aid)
    row = service.enter_code(db, settings=settings, nonce=result.qr_nonce, code=code)
    return aid, result, code, row


def test_full_activation_issues_a_credential_verifiable_offline(db, settings, enrolled, faces):
    aid, selfie, code, row = activate(db, settings, enrolled, faces)
    assert selfie.matched and selfie.score >= selfie.threshold and len(code) == 6
    assert row.state == "ACTIVE" and row.token.startswith("KTD1.")
    with db.unit_of_work() as s:
        stored = s.get(IkdActivationRow, aid)
        assert stored.code_hash and code not in stored.code_hash and stored.saves_blank
        assert s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.kind == "ikd.activated")) == 1
        result = verify_card(s, settings=settings, payload=row.token)
        assert (result.kind, result.result, result.card["nik"]) == ("ikd", "VALID", enrolled)
        counts = service.counts(s, office_code="18.01")
        assert (counts.activated, counts.blanks_saved) == (1, 1)
    with db.unit_of_work() as s:
        service.revoke_ikd(s, settings=settings, activation_id=aid, reason="HP hilang", actor="spv")
    with db.unit_of_work() as s:
        assert verify_card(s, settings=settings, payload=row.token).result == "REVOKED"


def test_selfie_of_another_person_is_refused_with_the_score(db, settings, enrolled, faces):
    aid = start(db, settings, enrolled)
    with pytest.raises(IkdRefused) as exc:
        service.submit_selfie(db, settings=settings, activation_id=aid, image=(faces / "s8" / "2.pgm").read_bytes(),
                              actor="op1")
    assert exc.value.code == "ikd_selfie_mismatch" and "skor 1:1" in exc.value.message_id
    with db.unit_of_work() as s:
        row = s.get(IkdActivationRow, aid)
        assert (row.state, row.selfie_attempts, row.qr_nonce, row.token) == ("PENDING_SELFIE", 1, None, None)
        assert f"{row.selfie_score:.2f}" in exc.value.message_id and row.selfie_score < get_engine().calibration.verify_z
    # three refusals end the attempt
    for _ in range(2):
        with pytest.raises(IkdRefused):
            service.submit_selfie(db, settings=settings, activation_id=aid,
                                  image=(faces / "s8" / "2.pgm").read_bytes(), actor="op1")
    with db.unit_of_work() as s:
        assert s.get(IkdActivationRow, aid).state == "FAILED"


def test_replayed_code_is_refused_and_nothing_changes(db, settings, enrolled, faces):
    aid, selfie, code, row = activate(db, settings, enrolled, faces)
    with pytest.raises(IkdRefused) as exc:
        service.enter_code(db, settings=settings, nonce=selfie.qr_nonce, code=code)
    assert exc.value.code == "ikd_code_replayed"
    with db.unit_of_work() as s:
        stored = s.get(IkdActivationRow, aid)
        assert (stored.state, stored.token) == ("ACTIVE", row.token)
        assert s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.kind == "ikd.activated")) == 1


def test_wrong_and_expired_codes(db, settings, enrolled, faces):
    aid = start(db, settings, enrolled)
    selfie = service.submit_selfie(db, settings=settings, activation_id=aid,
                                   image=(faces / "s7" / "4.pgm").read_bytes(), actor="op1")
    with db.unit_of_work() as s:
        service.scan_officer_qr(s, settings=settings, nonce=selfie.qr_nonce)
    code = code_sent(db, aid)
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(IkdRefused) as exc:
        service.enter_code(db, settings=settings, nonce=selfie.qr_nonce, code=wrong)
    assert exc.value.code == "ikd_code_wrong"
    later = utcnow() + dt.timedelta(minutes=settings.ikd_code_minutes + 1)
    with pytest.raises(IkdRefused) as exc:
        service.enter_code(db, settings=settings, nonce=selfie.qr_nonce, code=code, now=later)
    assert exc.value.code == "ikd_code_expired"
    with db.unit_of_work() as s:
        row = s.get(IkdActivationRow, aid)
        assert (row.state, row.code_attempts, row.token) == ("PENDING_CODE", 1, None)


def test_not_eligible_or_no_consent_writes_nothing(db, settings, enrolled):
    with pytest.raises(IkdRefused) as exc:
        start(db, settings, enrolled, consent=False)
    assert exc.value.code == "ikd_contact"
    with pytest.raises(IkdRefused):
        start(db, settings, enrolled, email="not-an-email")
    with db.unit_of_work() as s:
        resident = s.scalar(select(ResidentRow).where(ResidentRow.nik == enrolled))
        s.scalars(select(EnrollmentRow).where(EnrollmentRow.resident_id == resident.id)).one().state = "SENT"
    with pytest.raises(IkdRefused) as exc:
        start(db, settings, enrolled)
    assert exc.value.code == "ikd_not_eligible" and "SENT" in exc.value.message_id
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(IkdActivationRow)) == 0


# -- central hears of it, and both dashboards count it ---------------------------------------------------

@pytest.fixture
def linked_office(linked, db, central_settings):
    """Cards signed by the central key the linked office trusts (the `office` builder would replace it)."""
    from tests.integration.field.conftest import Office

    return Office(db, central_settings)


@pytest.fixture
def linked_enrolled(db, linked_office, faces):
    return _enrol(db, linked_office, faces)


def _sync(db, office_settings, central_client):
    from ktpel.office import composition as office_composition
    from ktpel.office.sync.agent import SyncAgent

    agent = SyncAgent(handlers=office_composition.SYNC, settings=office_settings, db=db,
                      central_url="http://central.test", client=central_client)
    return agent.run_once(force=True)


def _central_row(central_db, activation_id):
    from ktpel.store.schema.ikd import CentralIkdRow

    with central_db.unit_of_work() as s:
        row = s.get(CentralIkdRow, activation_id)
        if row is not None:
            s.expunge(row)
        return row, s.scalar(select(func.count()).select_from(CentralIkdRow))


def test_activation_and_revocation_reach_central_through_sync_once(linked, db, office_settings, central_db,
                                                                   central_client, linked_enrolled, faces):
    from ktpel.central.ikd.service import record_ikd_report
    from ktpel.packets.ikd import CURRENT
    from ktpel.store.schema.sync import CentralPacketRow

    aid, _, _, row = activate(db, office_settings, linked_enrolled, faces)
    with db.unit_of_work() as s:
        packet = s.scalars(select(OutboxRow).where(OutboxRow.kind == "ikd.activated")).one()
    # what the office wrote is the shared model's payload, field for field
    report = CURRENT.model_validate(json.loads(packet.content)["payload"])
    assert (report.activation_id, report.nik, report.office_code, report.saves_blank) == (aid, linked_enrolled, "18.01", True)
    assert _sync(db, office_settings, central_client).sent >= 1
    stored, n = _central_row(central_db, aid)
    assert n == 1 and (stored.office_code, stored.nik, stored.state, stored.saves_blank, stored.officer) == \
        ("18.01", linked_enrolled, "ACTIVE", True, "op1")
    assert stored.activated_at == row.activated_at
    # the same packet again: central answers with its receipt and stores nothing new
    with db.unit_of_work() as s:
        s.get(OutboxRow, packet.seq).state = "QUEUED"
    _sync(db, office_settings, central_client)
    with central_db.unit_of_work() as s:
        held = s.get(CentralPacketRow, packet.packet_id)
        payload = json.loads(held.payload)
        assert s.scalar(select(func.count()).select_from(CentralPacketRow)
                        .where(CentralPacketRow.kind == "ikd.activated")) == 1
        # the same report under another packet id (a resend after a lost receipt) still counts once
        record_ikd_report(s, packet_id="resend-1", office_code="18.01", kind="ikd.activated", subject_id=aid,
                          payload=payload)
    assert _central_row(central_db, aid)[1] == 1

    with db.unit_of_work() as s:
        service.revoke_ikd(s, settings=office_settings, activation_id=aid, reason="HP hilang", actor="spv")
    _sync(db, office_settings, central_client)
    stored, n = _central_row(central_db, aid)
    assert n == 1 and stored.state == "REVOKED" and stored.revoked_at is not None
    with central_db.unit_of_work() as s:  # a late activation report never undoes the revocation
        record_ikd_report(s, packet_id="late-1", office_code="18.01", kind="ikd.activated", subject_id=aid,
                          payload=payload)
    assert _central_row(central_db, aid)[0].state == "REVOKED"


def test_a_malformed_report_is_refused_and_nothing_is_stored(linked, db, office_settings, central_db, central_client):
    from ktpel.store.schema.sync import CentralPacketRow
    from ktpel.office.sync.outbox import enqueue_packet

    with db.unit_of_work() as s:
        enqueue_packet(s, kind="ikd.activated", subject_id="IKDbroken", payload={
            "activation_id": "IKDbroken", "nik": "12345", "office_code": "18.01", "saves_blank": True,
            "activated_at": utcnow().isoformat()})
    _sync(db, office_settings, central_client)
    with db.unit_of_work() as s:
        row = s.scalars(select(OutboxRow).where(OutboxRow.subject_id == "IKDbroken")).one()
        assert row.state == "REFUSED" and "nik" in row.last_error
    assert _central_row(central_db, "IKDbroken") == (None, 0)
    with central_db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(CentralPacketRow)
                        .where(CentralPacketRow.kind == "ikd.activated")) == 0


def _period(clock, *, days_back: int, days_to: int = 0):
    from ktpel.reports.period import Period

    return Period(start=clock.today() - dt.timedelta(days=days_back), end=clock.today() - dt.timedelta(days=days_to))


def test_both_dashboards_count_the_activation_in_its_period_only(linked, db, office_settings, central_db,
                                                                 central_client, linked_enrolled, faces, linked_office,
                                                                 clock):
    from ktpel.office.suket import service as suket
    from ktpel.central.reports.central import central_dashboard
    from ktpel.office.reports.office import office_dashboard

    aid, *_ = activate(db, office_settings, linked_enrolled, faces)
    with db.unit_of_work() as s:
        other = s.get(ResidentRow, s.get(CardRow, linked_office.card()).resident_id).nik
        suket.issue_suket(s, settings=office_settings, nik=other, reason="blanko_habis", actor="op1")
    _sync(db, office_settings, central_client)
    now = clock.now()
    for period, expected in ((_period(clock, days_back=6), 1), (_period(clock, days_back=9, days_to=1), 0)):
        with db.unit_of_work() as s:
            data = office_dashboard(s, office_code="18.01", period=period, today=clock.today(), now=now)
        rows = data["panels"]["ikd_blanko"].rows
        assert [r["tanggal"] for r in rows] == [d.isoformat() for d in period.days]
        assert data["ikd"] == {"ikd_aktif": expected, "blanko_dihemat": expected, "ikd_dicabut": 0,
                               "suket_terbit": expected}
        assert sum(r["ikd_aktif"] for r in rows) == expected
        with central_db.unit_of_work() as s:
            central = central_dashboard(s, period=period, now=now)
        assert central["ikd"]["ikd_aktif"] == expected and central["ikd"]["blanko_dihemat"] == expected
        by_code = {r["kode"]: r for r in central["panels"]["ikd"].rows}
        assert by_code.get("18.01", {}).get("ikd_aktif", 0) == expected
    today = clock.today().isoformat()
    with db.unit_of_work() as s:
        service.revoke_ikd(s, settings=office_settings, activation_id=aid, reason="HP hilang", actor="spv")
    _sync(db, office_settings, central_client)
    with db.unit_of_work() as s:
        data = office_dashboard(s, office_code="18.01", period=_period(clock, days_back=0), today=clock.today(), now=now)
    assert data["panels"]["ikd_blanko"].rows == [{"tanggal": today, "ikd_aktif": 1, "blanko_dihemat": 1,
                                                  "ikd_dicabut": 1, "suket_terbit": 1}]
    with central_db.unit_of_work() as s:
        central = central_dashboard(s, period=_period(clock, days_back=0), now=clock.now())
    assert [(r["kode"], r["ikd_aktif"], r["ikd_dicabut"], r["ikd_aktif_kini"]) for r in central["panels"]["ikd"].rows] \
        == [("18.01", 1, 1, 0)]


def test_office_dashboard_page_export_and_monthly_report_carry_the_ikd(db, settings, enrolled, faces, clock):
    from ktpel.security.access import Role
    from ktpel.web.app import create_app
    from tests.integration.field.conftest import pdf_content
    from tests.integration.reports.conftest import client_for

    activate(db, settings, enrolled, faces)
    c = client_for(create_app(settings=settings, side="office", db=db), Role.HEAD)
    page = c.get("/dasbor")
    assert page.status_code == 200 and 'id="panel-ikd_blanko"' in page.text and 'id="chart-ikd_blanko"' in page.text
    assert 'id="headline-ikd">1 (1)<' in page.text and 'id="headline-suket">0<' in page.text
    assert "IKD diaktifkan (blanko dihemat)" in page.text
    csv = c.get("/dasbor/ekspor/ikd_blanko.csv").content.decode("utf-8-sig").splitlines()
    assert csv[0] == "Tanggal,IKD diaktifkan,Blanko dihemat,IKD dicabut,Suket diterbitkan"
    assert f"{clock.today().isoformat()},1,1,0,0" in csv
    assert c.get("/dasbor/ekspor/ikd_blanko.csv", params={"lang": "en"}).status_code == 200
    pdf = c.get("/dasbor/laporan-bulanan.pdf", params={"bulan": clock.today().strftime("%Y-%m")})
    drawn = [t.replace("\\(", "(").replace("\\)", ")") for t in re.findall(r"\((.*?)\) Tj", pdf_content(pdf.content))]
    summary = dict(zip(drawn, drawn[1:]))  # the summary table: each label is followed by its figure
    assert (summary["IKD diaktifkan"], summary["Blanko dihemat (IKD sebelum kartu dicetak)"],
            summary["Suket diterbitkan"]) == ("1", "1", "0")
