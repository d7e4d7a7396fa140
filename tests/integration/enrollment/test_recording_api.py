"""Recording over the API: a full capture lands in the outbox in one transaction; bad input stores nothing."""

from __future__ import annotations

import json

from sqlalchemy import select

from ktpel.office.enrollment.service import enrolled_images, enrolled_templates
from ktpel.security.audit import verify_chain
from ktpel.store.schema.core import DomainEventRow, EnrollmentRow, PhoneRow, ResidentRow
from ktpel.store.schema.enrollment import EnrollmentCaptureRow
from ktpel.store.schema.security import AuditEntryRow
from ktpel.store.schema.sync import OutboxRow
from ktpel.office.sync.outbox import content_of
from tests.integration.enrollment.conftest import capture_set


def test_full_recording_is_queued_with_its_packet_and_receipt(office, images):
    nik = office.unrecorded_niks(1)[0]
    resp = office.enroll(nik=nik, images=capture_set(images), form_token="t-full",
                         phones=[{"number": "0812 3456 7890", "consent": True}], occupation="PETANI")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["state"] == "QUEUED"
    assert set(body["quality"]) == {"face", "signature", *(f"finger_{i}" for i in range(1, 11))}
    assert body["quality"]["face"]["ok"] and body["quality"]["face"]["score"] > 50
    eid = body["enrollment_id"]

    with office.db.unit_of_work() as s:
        outbox = s.scalars(select(OutboxRow).where(OutboxRow.subject_id == eid)).all()
        assert len(outbox) == 1 and outbox[0].kind == "enrollment" and outbox[0].state == "QUEUED"
        payload = content_of(outbox[0])["payload"]
        templates = enrolled_templates(s, enrollment_id=eid)
        imgs = enrolled_images(s, enrollment_id=eid)
        phone = s.scalars(select(PhoneRow).join(ResidentRow).where(ResidentRow.nik == nik)).one()
        resident = s.scalars(select(ResidentRow).where(ResidentRow.nik == nik)).one()
        events = [e.name for e in s.scalars(select(DomainEventRow).where(DomainEventRow.subject_id == eid)
                                            .order_by(DomainEventRow.id))]
        actions = {(a.actor, a.action) for a in s.scalars(select(AuditEntryRow))}
        report = verify_chain(s)
    assert payload["format"] == "ktpel.enrollment" and payload["version"] == 1
    assert payload["resident"]["nik"] == nik and payload["resident"]["occupation"] == "PETANI"
    assert set(payload["templates"]) == {"face", *(f"finger_{i}" for i in range(1, 11))}
    assert set(templates) == set(payload["templates"])
    assert imgs["face"] == images["face"] and imgs["finger_3"] == images["finger_3"] and "signature" in imgs
    assert phone.number == "+6281234567890" and phone.consent is True
    assert resident.occupation == "PETANI"
    assert events == ["enrollment.capture", "enrollment.queue"]
    assert {("op1", "enrollment.capture"), ("op1", "enrollment.queue"), ("op1", "resident.correct"),
            ("op1", "resident.phone_add")} <= actions
    assert report.ok

    got = office.client.get(f"/api/v1/enrollments/{eid}", headers=office.headers()).json()
    assert got["state"] == "QUEUED" and got["state_code"] == "ANTRE" and got["nik"] == nik
    pdf = office.client.get(f"/rekam/{eid}/tanda-terima.pdf", headers=office.headers())
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert body["receipt_number"].encode() in pdf.content and nik.encode() in pdf.content

    # a second recording of the same resident is refused while this one is open
    again = office.enroll(nik=nik, images=capture_set(images), form_token="t-again")
    assert again.status_code == 409 and again.json()["code"] == "already_recorded"
    page = office.client.get(f"/rekam/{nik}", headers=office.headers())
    assert 'id="flag"' in page.text and "sudah direkam" in page.text and 'id="capture-form"' not in page.text


def test_double_submit_of_one_form_records_once(office, images):
    nik = office.unrecorded_niks(1)[0]
    first = office.enroll(nik=nik, images=capture_set(images), form_token="same-form")
    second = office.enroll(nik=nik, images=capture_set(images), form_token="same-form")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["enrollment_id"] == first.json()["enrollment_id"] and second.json()["created"] is False
    assert office.count(EnrollmentRow) == 1 and office.count(OutboxRow) == 1
    other = office.enroll(nik=office.unrecorded_niks(1)[0], images=capture_set(images), form_token="same-form")
    assert other.status_code == 422 and other.json()["code"] == "form_token_reused"


def test_a_failed_recording_may_be_recorded_again(office, images):
    nik = office.unrecorded_niks(1)[0]
    first = office.enroll(nik=nik, images=capture_set(images), form_token="first",
                          phones=[{"number": "081234567890", "consent": False}]).json()
    with office.db.unit_of_work() as s:  # central answered EFAC (sync applies this event in real life)
        s.get(EnrollmentRow, first["enrollment_id"]).state = "FAILED"
    second = office.enroll(nik=nik, images=capture_set(images), form_token="second",
                           phones=[{"number": "+62 812-3456-7890", "consent": True}])
    assert second.status_code == 201 and second.json()["state"] == "QUEUED"
    assert office.count(EnrollmentRow) == 2 and office.count(OutboxRow) == 2
    with office.db.unit_of_work() as s:
        phones = s.scalars(select(PhoneRow)).all()
    assert [(p.number, p.consent) for p in phones] == [("+6281234567890", True)]


def _nothing_stored(office) -> None:  # noqa: ANN001
    assert office.count(EnrollmentRow) == 0
    assert office.count(EnrollmentCaptureRow) == 0
    assert office.count(OutboxRow) == 0
    assert office.count(PhoneRow) == 0


def test_a_child_is_refused_by_the_api_as_by_the_page(office, images):
    """UU 24/2013: the KTP-El is for residents aged 17 or married; the API keeps the counter page's rule."""
    child = office.unrecorded_niks(1, adults=False)[0]
    resp = office.enroll(nik=child, images=capture_set(images), form_token="child")
    assert resp.status_code == 422 and resp.json()["code"] == "not_eligible", resp.text
    assert "KIA" in resp.text or "17" in resp.text
    _nothing_stored(office)


def test_bad_inputs_get_clear_messages_and_store_nothing(office, images):
    nik = office.unrecorded_niks(1)[0]
    cases = [
        ("face not an image", dict(face=b"%PDF-1.4 this is not a photo"), {}, 422, "bukan gambar"),
        ("face truncated", dict(face=images["face"][:3000]), {}, 422, "terpotong"),
        ("two faces", dict(face=images["bad:two_faces"]), {}, 422, "ada dua wajah"),
        ("no face", dict(face=images["finger_1"]), {}, 422, "Wajah tidak ditemukan"),
        ("blank finger", dict(finger_2=images["bad:blank"]), {}, 422, "kosong"),
        ("face as finger", dict(finger_4=images["bad:face_as_finger"]), {}, 422, "guratan"),
        ("blank signature", dict(signature=images["bad:blank_signature"]), {}, 422, "Tanda tangan kosong"),
        ("huge face", dict(face=b"\x89PNG" + b"0" * (9 * 1024 * 1024)), {}, 413, "terlalu besar"),
        ("finger skipped", dict(finger_7=None), {}, 422, "belum direkam"),
        ("missing without reason", dict(finger_7=None), {"missing_fingers": {"7": ""}}, 422, "alasan"),
        ("invalid NIK", {}, {"nik": "1801063213990001"}, 422, "NIK"),
        ("bad phone", {}, {"phones": ["12"]}, 422, "telepon"),
        ("low quality face", dict(face=images["bad:dark_face"]), {}, 422, "rekam ulang"),
    ]
    for label, replace, demo, status, words in cases:
        resp = office.enroll(nik=demo.pop("nik", nik), images=capture_set(images, **replace),
                             form_token=f"bad-{label}", **demo)
        assert resp.status_code == status, (label, resp.text)
        problem = resp.json()
        assert resp.headers["content-type"].startswith("application/problem+json"), label
        text = json.dumps(problem, ensure_ascii=False)
        assert words.lower() in text.lower(), (label, text)
    _nothing_stored(office)
    # the web form answers the same input with the page in Bahasa Indonesia, and still stores nothing
    files = [(k, (k, v, "application/octet-stream")) for k, v in capture_set(images, face=images["bad:two_faces"]).items()]
    page = office.client.post(f"/rekam/{nik}", headers=office.headers(), data={"form_token": "web-bad"}, files=files)
    assert page.status_code == 422 and "Ada dua wajah" in page.text and 'id="capture-form"' in page.text
    _nothing_stored(office)
