"""Supervisor approval when policy asks, live quality feedback, and the counter pages."""

from __future__ import annotations

from sqlalchemy import select

from ktpel.store.schema.security import AuditEntryRow
from ktpel.store.schema.sync import OutboxRow
from tests.integration.enrollment.conftest import PASSWORDS, capture_set


def test_three_missing_fingers_wait_for_a_second_user_then_queue(office, images):
    nik = office.unrecorded_niks(1)[0]
    missing = {"3": {"kind": "missing", "reason": "amputasi sejak 2019"},
               "4": {"kind": "injured", "reason": "luka bakar, diperban"}, "5": "tidak ada sejak lahir"}
    resp = office.enroll(nik=nik, images=capture_set(images, finger_3=None, finger_4=None, finger_5=None),
                         form_token="t-missing", missing_fingers=missing)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    eid = body["enrollment_id"]
    assert body["state"] == "CAPTURED" and "3 jari tidak direkam" in body["approval_reasons"][0]
    assert office.count(OutboxRow) == 0  # nothing leaves the office before approval

    # another operator may not approve; the supervisor who is not the recorder may
    refused = office.client.post(f"/rekam/{eid}/persetujuan", headers=office.headers("op2"), data={})
    assert refused.status_code == 403 and "supervisor" in refused.text
    wrong = office.client.post(f"/rekam/{eid}/persetujuan", headers=office.headers("op1"),
                               data={"supervisor_username": "spv", "supervisor_password": "salah-sandi-xx"})
    assert wrong.status_code == 403 and "ditolak" in wrong.text
    assert office.count(OutboxRow) == 0
    ok = office.client.post(f"/rekam/{eid}/persetujuan", headers=office.headers("op1"),
                            data={"supervisor_username": "spv", "supervisor_password": PASSWORDS["spv"]},
                            follow_redirects=False)
    assert ok.status_code == 303, ok.text
    got = office.client.get(f"/api/v1/enrollments/{eid}", headers=office.headers()).json()
    assert got["state"] == "QUEUED" and got["approved_by"] == "spv" and got["approval_reasons"] == []
    assert got["exceptions"]["finger_4"] == {"kind": "injured", "reason": "luka bakar, diperban"}
    with office.db.unit_of_work() as s:
        trail = [(a.actor, a.action) for a in s.scalars(select(AuditEntryRow).where(AuditEntryRow.subject == eid)
                                                        .order_by(AuditEntryRow.seq))]
        packet_count = len(s.scalars(select(OutboxRow).where(OutboxRow.subject_id == eid)).all())
    assert trail == [("op1", "enrollment.capture"), ("spv", "enrollment.approve"), ("spv", "enrollment.queue")]
    assert packet_count == 1
    again = office.client.post(f"/rekam/{eid}/persetujuan", headers=office.headers("spv"), data={})
    assert again.status_code == 403 and "tidak menunggu persetujuan" in again.text


def test_supervisor_cannot_approve_own_recording_and_override_needs_approval(office, images):
    nik = office.unrecorded_niks(1)[0]
    resp = office.enroll(nik=nik, images=capture_set(images, face=images["bad:dark_face"]), who="spv",
                         form_token="t-override", override_low_quality=True)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["state"] == "CAPTURED" and body["quality"]["face"]["overridden"] is True
    assert any("kualitas rendah diterima: foto wajah" in r for r in body["approval_reasons"])
    own = office.client.post(f"/rekam/{body['enrollment_id']}/persetujuan", headers=office.headers("spv"), data={})
    assert own.status_code == 403 and "pengguna lain" in own.text
    assert office.count(OutboxRow) == 0


def test_live_quality_scores_and_prompts_recapture(office, images):
    h = office.headers()
    good = office.client.post("/api/v1/quality/face", headers=h, files={"image": ("f.pgm", images["face"])}).json()
    assert good["ok"] is True and good["score"] >= 50 and "prompt_id" not in good
    dark = office.client.post("/api/v1/quality/face", headers=h,
                              files={"image": ("d.png", images["bad:dark_face"])}).json()
    assert dark["ok"] is False and "rekam ulang" in dark["prompt_id"] and any("gelap" in r for r in dark["reasons"])
    finger = office.client.post("/api/v1/quality/finger", headers=h,
                                files={"image": ("f.tif", images["finger_1"])}).json()
    assert finger["ok"] is True and finger["score"] > 0
    blank = office.client.post("/api/v1/quality/finger", headers=h,
                               files={"image": ("b.png", images["bad:blank"])}).json()
    assert blank["ok"] is False and blank["score"] == 0 and "kosong" in blank["reasons"][0]
    nothing = office.client.post("/api/v1/quality/finger", headers=h, files={"x": ("b.png", b"")})
    assert nothing.status_code == 422 and "image" in nothing.json()["message_id"]
    anonymous = office.client.post("/api/v1/quality/face", files={"image": ("f.pgm", images["face"])})
    assert anonymous.status_code == 401


def test_find_page_shows_status_and_capture_page_has_every_step(office, images):
    nik = office.unrecorded_niks(1)[0]
    found = office.client.get("/rekam", params={"q": nik}, headers=office.headers())
    assert found.status_code == 200 and "BELUM REKAM" in found.text and f'href="/rekam/{nik}"' in found.text
    page = office.client.get(f"/rekam/{nik}", headers=office.headers())
    assert page.status_code == 200
    for marker in ('name="face"', 'name="finger_10"', 'id="signature-pad"', 'name="phone_1"', 'name="consent_1"',
                   'name="form_token"', "kelingking kiri", 'name="village_code"'):
        assert marker in page.text, marker
    detail = office.client.get(f"/penduduk/{nik}", headers=office.headers())
    assert f'href="/rekam/{nik}"' in detail.text
    invalid = office.client.get("/rekam/1801069999", headers=office.headers())
    assert invalid.status_code == 404


def test_scanner_endpoint_hands_over_the_scanned_finger(office, images):
    scanner = office.settings.data_dir / "scanner"
    scanner.mkdir(parents=True, exist_ok=True)
    (scanner / "finger_2.tif").write_bytes(images["finger_2"])
    got = office.client.post("/api/v1/scanner/fingers/2", headers=office.headers())
    assert got.status_code == 200 and got.content == images["finger_2"]
    late = office.client.post("/api/v1/scanner/fingers/2", params={"timeout": 0.2}, headers=office.headers())
    assert late.status_code == 504 and "Pemindai" in late.json()["message_id"]
    bad = office.client.post("/api/v1/scanner/fingers/11", headers=office.headers())
    assert bad.status_code == 422


def test_a_thumb_with_too_few_minutiae_is_captured_again_or_accepted_by_a_supervisor(office, images):
    """FVC2002 DB1_B 101_5 has 13 minutiae: fine for a middle finger, too few for a thumb (the national
    search's first finger); nothing is stored until it is captured again or its quality accepted."""
    from ktpel.store.schema.core import EnrollmentRow

    sparse = (office.settings.shared_data / "fingerprints" / "FVC2002_DB1_B" / "101_5.tif").read_bytes()
    h = office.headers()
    thumb = office.client.post("/api/v1/quality/finger_1", headers=h, files={"image": ("t.tif", sparse)}).json()
    assert thumb["ok"] is False and thumb["kind"] == "finger_1"
    assert "hanya 13 titik minusi" in thumb["prompt_id"] and "ibu jari" in thumb["prompt_id"]
    assert thumb["prompt_en"].startswith("The right thumb has only 13 minutiae")
    middle = office.client.post("/api/v1/quality/finger_3", headers=h, files={"image": ("m.tif", sparse)}).json()
    unnamed = office.client.post("/api/v1/quality/finger", headers=h, files={"image": ("u.tif", sparse)}).json()
    assert middle["ok"] is True and unnamed["ok"] is True and "prompt_id" not in middle
    assert office.client.post("/api/v1/quality/finger_11", headers=h,
                              files={"image": ("x.tif", sparse)}).status_code == 404

    nik, other, third = office.unrecorded_niks(3)
    refused = office.enroll(nik=nik, images=capture_set(images, finger_1=sparse), form_token="t-thumb")
    assert refused.status_code == 422 and refused.json()["code"] == "low_quality"
    assert "ibu jari kanan" in refused.json()["message_id"] and "supervisor" in refused.json()["message_id"]
    assert office.count(EnrollmentRow) == 0 and office.count(OutboxRow) == 0

    as_middle = office.enroll(nik=nik, images=capture_set(images, finger_3=sparse), form_token="t-middle")
    assert as_middle.status_code == 201 and as_middle.json()["state"] == "QUEUED", as_middle.text

    accepted = office.enroll(nik=other, images=capture_set(images, finger_6=sparse), form_token="t-worn",
                             override_low_quality=True)
    assert accepted.status_code == 201, accepted.text
    body = accepted.json()
    assert body["state"] == "CAPTURED" and body["quality"]["finger_6"]["overridden"] is True
    assert body["approval_reasons"] == ["kualitas rendah diterima: sidik jari 6 (ibu jari kiri)"]
    retaken = office.enroll(nik=third, images=capture_set(images), form_token="t-again")
    assert retaken.status_code == 201 and retaken.json()["state"] == "QUEUED"
    assert office.count(OutboxRow) == 2  # the queued two; the accepted thumb waits for the supervisor


def test_the_demo_captures_a_refused_thumb_again_as_an_operator_does(office, regions):
    """Sample resident 20's right thumb is FVC 101_5 (13 minutiae): the demo and the field kit take the next
    impression of that finger, and the recording queues without a supervisor."""
    from ktpel.demo.enrollment import record_retaking
    from ktpel.office.enrollment import samples, service
    from ktpel.security.access import Role, User

    shared = office.settings.shared_data
    files = samples.capture_files(shared, 20)
    assert samples.finger_path(shared, 20, 1).name == "101_5.tif"
    form = service.CaptureForm(nik=office.unrecorded_niks(1)[0], form_token="t-demo-retake",
                               face=service.Upload(files["face"]), signature=service.Upload(files["signature"]),
                               fingers={p: service.Upload(files[f"finger_{p}"]) for p in range(1, 11)})
    operator = User(id=0, username="petugas.demo", role=Role.OPERATOR, regency_code="18.01")
    result = record_retaking(office.db, settings=office.settings, regions=regions, form=form, operator=operator,
                             shared=shared, resident=20)
    assert result.state == "QUEUED" and result.approval_reasons == []
    assert form.fingers[1].data == samples.finger_path(shared, 20, 1, attempt=1).read_bytes()
    assert form.fingers[6].data == files["finger_6"]  # the other fingers as first captured
