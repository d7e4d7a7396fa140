"""IKD activation on SQLite and PostgreSQL: selfie 1:1 with the real engine on real faces (ORL), the officer
QR, a one-time code through the notification outbox, the offline-verifiable credential, and refusals."""

import datetime as dt
import json

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


@pytest.fixture
def faces(shared_data):
    return shared_data / "faces" / "att_orl"


@pytest.fixture
def enrolled(db, office, faces):
    image = (faces / "s7" / "1.pgm").read_bytes()
    card_id = office.card(captures={"face": (image, get_engine().extract_face(image).to_bytes())})
    with db.unit_of_work() as s:
        return s.get(ResidentRow, s.get(CardRow, card_id).resident_id).nik


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
